/**
 * The `sidecarctl.io/status` annotation: a record, on the pod template, of exactly what inject added,
 * so that uninject removes that and nothing else, and re-running inject can tell what is ours.
 */
import type { EditOp, Path } from '../manifest/edit-ops.js';
import { getPath } from '../manifest/edit-ops.js';
import { isPlainObject } from '../manifest/workloads.js';

export const STATUS_ANNOTATION = 'sidecarctl.io/status';
export const HASH_ANNOTATION = 'sidecarctl.io/config-hash';
export const INJECT_ANNOTATION = 'sidecarctl.io/inject';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'sidecarctl';

export interface WorkloadStatus {
  v: 1;
  initContainers: string[];
  containers: string[];
  volumes: string[];
  /** App container name -> names of the mounts added to it. */
  mounts: Record<string, string[]>;
  /** Pod template annotation keys added (including this one). */
  annotations: string[];
  /** Collections inject created, relative to the pod template: 'metadata', 'metadata.annotations', 'spec.volumes', ... */
  created: string[];
  /** Objects generated beside the workload. */
  objects: { kind: string; name: string }[];
  /** JSON input of a single object that inject wrapped into a List to add its objects. */
  wrapped?: boolean;
  /**
   * The settings that made this injection beyond the defaults, profile and annotations (flags, as given),
   * so that a re-run without them re-creates it (src/inject/recorded.ts). Absent in older records.
   */
  settings?: Record<string, string | number | boolean | (string | number | boolean)[]>;
}

export interface ServiceStatus {
  v: 1;
  /** Port index -> original targetPort (exact source text for YAML; undefined: it had none). */
  targetPorts: { index: number; value?: unknown; source?: string }[];
  createdAnnotations: boolean;
}

export function readStatus<T>(metadata: unknown): T | undefined {
  if (!isPlainObject(metadata) || !isPlainObject(metadata.annotations)) return undefined;
  const raw = metadata.annotations[STATUS_ANNOTATION];
  if (typeof raw !== 'string') return undefined;
  try {
    const parsed = JSON.parse(raw) as unknown;
    return isPlainObject(parsed) && parsed.v === 1 ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Compact and with a stable key order, so the same injection always gives the same bytes. */
export function formatStatus(status: WorkloadStatus | ServiceStatus): string {
  return JSON.stringify(status);
}

function namesOf(list: unknown): string[] {
  return Array.isArray(list) ? list.map((c) => (isPlainObject(c) && typeof c.name === 'string' ? c.name : '')) : [];
}

function indexesOf(list: unknown, names: string[]): number[] {
  return namesOf(list).flatMap((name, i) => (names.includes(name) ? [i] : []));
}

/** The EditOps that take a workload's injection back out, from its status record. */
export function uninjectWorkloadOps(object: Record<string, unknown>, specPath: Path, metaPath: Path, status: WorkloadStatus): EditOp[] {
  const ops: EditOp[] = [];
  const templatePath = specPath.slice(0, -1);
  const created = new Set(status.created);
  const spec = getPath(object, specPath);

  const removeNamed = (key: string, names: string[]) => {
    if (names.length === 0) return;
    if (created.has(`spec.${key}`)) ops.push({ op: 'removeKeys', path: specPath, keys: [key] });
    else ops.push({ op: 'removeItems', path: [...specPath, key], indexes: indexesOf(getPath(spec, [key]), names) });
  };
  removeNamed('initContainers', status.initContainers);
  removeNamed('containers', status.containers);
  removeNamed('volumes', status.volumes);

  const containers = getPath(spec, ['containers']);
  for (const [containerName, mountNames] of Object.entries(status.mounts)) {
    const index = namesOf(containers).indexOf(containerName);
    if (index === -1) continue;
    const containerPath = [...specPath, 'containers', index];
    if (created.has(`containers.${containerName}.volumeMounts`)) ops.push({ op: 'removeKeys', path: containerPath, keys: ['volumeMounts'] });
    else ops.push({ op: 'removeItems', path: [...containerPath, 'volumeMounts'], indexes: indexesOf(getPath(object, [...containerPath, 'volumeMounts']), mountNames) });
  }

  if (created.has('metadata')) ops.push({ op: 'removeKeys', path: templatePath, keys: ['metadata'] });
  else if (created.has('metadata.annotations')) ops.push({ op: 'removeKeys', path: metaPath, keys: ['annotations'] });
  else ops.push({ op: 'removeKeys', path: [...metaPath, 'annotations'], keys: status.annotations });
  return ops;
}

/**
 * A Service's targetPort written as an alias (`targetPort: *p`) is replaced by the proxy port (its anchor
 * stays); its status records the alias's text, so uninject puts back `*p` and not the value it stood for.
 */
export function withTargetPortSources(ops: EditOp[], aliasOf: (path: Path) => string | undefined): EditOp[] {
  const aliases = new Map<number, string>();
  for (const op of ops) {
    const index = op.path[2];
    if (op.op !== 'setScalar' || op.path[3] !== 'targetPort' || typeof index !== 'number') continue;
    const text = aliasOf(op.path);
    if (text !== undefined) aliases.set(index, text);
  }
  if (aliases.size === 0) return ops;
  return ops.map((op) => {
    if (op.op !== 'setPairs' || op.path.join('.') !== 'metadata.annotations') return op;
    return {
      ...op,
      pairs: op.pairs.map(([key, value]): [string, unknown] => {
        if (key !== STATUS_ANNOTATION || typeof value !== 'string') return [key, value];
        const status = JSON.parse(value) as ServiceStatus;
        for (const t of status.targetPorts) if (aliases.has(t.index)) t.source = aliases.get(t.index)!;
        return [key, formatStatus(status)];
      }),
    };
  });
}
