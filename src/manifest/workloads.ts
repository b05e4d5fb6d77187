/**
 * Finding the objects in a document: plain objects, and the items of `kind: List`.
 * For workload kinds, where their pod template lives.
 */
import { isMap, isSeq, type Document, type Node } from 'yaml';
import type { Path } from './edit-ops.js';

/** Where each workload kind keeps its pod spec, relative to the object. */
export const POD_SPEC_PATHS: Record<string, Path> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  // OpenShift's Deployment predecessor has the same template shape.
  DeploymentConfig: ['spec', 'template', 'spec'],
};

export interface ObjectRef {
  /** Index of the document in the file. */
  docIndex: number;
  /** Path of the object inside the document: [] or ['items', i]. */
  base: Path;
  /** The object as plain JS (a snapshot; edits go through EditOps). */
  value: Record<string, unknown>;
  node: Node;
  kind: string;
  name: string;
  namespace?: string;
}

export function isWorkloadKind(kind: string): boolean {
  return kind in POD_SPEC_PATHS;
}

/** Pod template metadata path: the parent of the pod spec path's last `spec`. */
export function podMetadataPath(kind: string): Path {
  const spec = POD_SPEC_PATHS[kind]!;
  return [...spec.slice(0, -1), 'metadata'];
}

/** All objects of a document, flattening `kind: List` (one level, as kubectl does). */
export function objectsOf(doc: Document, docIndex: number): ObjectRef[] {
  const root = doc.contents;
  if (!isMap(root)) return [];
  const value = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>;
  if (typeof value?.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    const items = root.get('items', true);
    if (!isSeq(items)) return [];
    return (value.items as unknown[]).flatMap((item, i) => {
      const node = items.items[i] as Node;
      return isPlainObject(item) && isMap(node) ? [ref(docIndex, ['items', i], item, node)] : [];
    });
  }
  return [ref(docIndex, [], value, root)];
}

function ref(docIndex: number, base: Path, value: Record<string, unknown>, node: Node): ObjectRef {
  const metadata = isPlainObject(value.metadata) ? value.metadata : {};
  return {
    docIndex,
    base,
    value,
    node,
    kind: typeof value.kind === 'string' ? value.kind : '',
    name: typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? metadata.generateName : '',
    ...(typeof metadata.namespace === 'string' ? { namespace: metadata.namespace } : {}),
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `Deployment/ns/name` (or `Deployment/name`) for reports. */
export function describe(ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
  return [ref.kind, ref.namespace, ref.name || '(unnamed)'].filter(Boolean).join('/');
}
