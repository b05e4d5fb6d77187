/** Small readers over a workload's pod that several rules share. */
import { isPlainObject } from '../manifest/workloads.js';
import { isSidecarImage, SIDECAR_PREFIX, type Container, type LintModel, type LintObject, type Workload } from './model.js';
import type { Severity } from './types.js';

export interface SidecarAt {
  workload: Workload;
  container: Container;
}

export function sidecars(model: LintModel): SidecarAt[] {
  return model.workloads.flatMap((workload) => workload.containers.filter((c) => c.role === 'sidecar').map((container) => ({ workload, container })));
}

export interface PortAt {
  container: Container;
  index: number;
  name?: string;
  number: number;
  protocol: string;
}

export function portsOf(container: Container): PortAt[] {
  const ports = Array.isArray(container.value.ports) ? container.value.ports : [];
  return ports.flatMap((p, index) =>
    isPlainObject(p) && typeof p.containerPort === 'number'
      ? [{ container, index, number: p.containerPort, protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP', ...(typeof p.name === 'string' ? { name: p.name } : {}) }]
      : [],
  );
}

/** Containers that run alongside each other: regular containers and native sidecars (plain init containers finish first). */
export function running(workload: Workload): Container[] {
  return workload.containers.filter((c) => c.list === 'containers' || c.native);
}

export function namespaceOf(value: Record<string, unknown>): string | undefined {
  const meta = value.metadata;
  return isPlainObject(meta) && typeof meta.namespace === 'string' ? meta.namespace : undefined;
}

/** Objects without a namespace go wherever `kubectl apply -n` puts them: they match any namespace. */
export function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/**
 * The object a workload refers to by kind and name: the one in its own namespace first, then one in
 * its own file, then any whose namespace is left open.
 */
export function findReferenced(model: LintModel, kind: string, name: string | undefined, from: Workload): LintObject | undefined {
  const ns = from.ref.namespace;
  const candidates = model.objects.filter((o) => o.ref.kind === kind && o.ref.name === name && sameNamespace(o.ref.namespace, ns));
  return candidates.find((o) => o.ref.namespace === ns && o.source === from.source) ?? candidates.find((o) => o.ref.namespace !== undefined && o.ref.namespace === ns) ?? candidates.find((o) => o.source === from.source) ?? candidates[0];
}

/**
 * How sure a rule on sidecar hygiene can be: a sidecar sidecarctl made (its status or name) must meet
 * every promise, an error; a hand-written proxy or log shipper (a known image) should, a warning; any
 * other native sidecar is the app's own business, not checked (istio's `other-sidecar`, a user's agent).
 */
export function hygieneSeverity(workload: Workload, container: Container): Severity | undefined {
  const ours = container.name.startsWith(SIDECAR_PREFIX) || [...(workload.status?.containers ?? []), ...(workload.status?.initContainers ?? [])].includes(container.name);
  if (ours) return 'error';
  return isSidecarImage(container.value.image) ? 'warning' : undefined;
}
