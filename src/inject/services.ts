/**
 * Traffic reaches the proxy only if the Service sends it there: a Service in the input that selects an
 * injected workload gets its targetPort pointed at the proxy port (and uninject puts it back).
 */
import { isScalar, type Node } from 'yaml';
import type { EditOp } from '../manifest/edit-ops.js';
import type { SourceFile } from '../manifest/source.js';
import { isPlainObject, podMetadataPath, POD_SPEC_PATHS, type ObjectRef } from '../manifest/workloads.js';
import { getPath } from '../manifest/edit-ops.js';
import type { WorkloadContext } from '../sidecars/types.js';
import { appPortsOf, proxiedPorts, servicePortsOf, targetOf, type PortPlan, type ServicePortFacts } from '../model/ports.js';
import { formatStatus, readStatus, STATUS_ANNOTATION, type ServiceStatus } from './status.js';

export interface Located {
  source: SourceFile;
  ref: ObjectRef;
}

export interface InjectedWorkload extends Located {
  context: WorkloadContext;
}

export function selects(service: ObjectRef, workload: ObjectRef): boolean {
  if ((service.namespace ?? '') !== (workload.namespace ?? '')) return false;
  const selector = getPath(service.value, ['spec', 'selector']);
  if (!isPlainObject(selector) || Object.keys(selector).length === 0) return false;
  const labels = getPath(workload.value, [...podMetadataPath(workload.kind), 'labels']);
  if (!isPlainObject(labels)) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The Services that select a workload, in input order: what testing every Service with `selects`
 * gives, but only the Services of the workload's namespace whose selector shares a label with it are
 * tested (testing every pair took minutes for a few thousand workloads).
 */
export function servicesSelecting(services: Located[]): (workload: ObjectRef) => Located[] {
  const key = (namespace: string | undefined, label: string, value: unknown) => JSON.stringify([namespace ?? '', label, value]);
  const byFirstLabel = new Map<string, number[]>();
  services.forEach((service, index) => {
    const selector = getPath(service.ref.value, ['spec', 'selector']);
    const first = isPlainObject(selector) ? Object.entries(selector)[0] : undefined;
    if (!first) return; // an empty selector selects nothing
    const k = key(service.ref.namespace, first[0], first[1]);
    const list = byFirstLabel.get(k);
    if (list) list.push(index);
    else byFirstLabel.set(k, [index]);
  });
  return (workload) => {
    const labels = getPath(workload.value, [...podMetadataPath(workload.kind), 'labels']);
    if (!isPlainObject(labels)) return [];
    const candidates = new Set<number>();
    for (const [label, value] of Object.entries(labels)) for (const i of byFirstLabel.get(key(workload.namespace, label, value)) ?? []) candidates.add(i);
    return [...candidates].sort((a, b) => a - b).map((i) => services[i]!).filter((service) => selects(service.ref, workload));
  };
}

/** A workload a Service selects, with what inject made of it (undefined: not proxied). */
export interface Selected {
  podSpec: Record<string, unknown>;
  ports?: PortPlan[];
}

/**
 * Where one Service port should now send traffic, judged by the pods that are its endpoints: with a
 * named targetPort only pods that declare that port name (a Helm test pod with the same labels is
 * not one), with a number every selected pod. A listener when every endpoint is proxied and takes
 * that port on the same listener; `mixed` when some endpoint is not (re-pointing would break it);
 * undefined when no endpoint is proxied or the port reaches no proxied app port.
 */
export function routeServicePort(port: ServicePortFacts, selected: readonly Selected[]): number | 'mixed' | undefined {
  const endpoints = selected.filter((w) => isEndpoint(port, w.podSpec));
  const listeners = endpoints.map((w) => {
    if (w.ports === undefined) return undefined;
    const target = targetOf(port, appPortsOf(w.podSpec), w.podSpec);
    return target && w.ports.find((p) => p.port === target.port && p.l4 === target.l4)?.listener;
  });
  if (listeners.every((l) => l === undefined)) return undefined;
  const first = listeners[0];
  return first !== undefined && listeners.every((l) => l === first) ? first : 'mixed';
}

function isEndpoint(port: ServicePortFacts, podSpec: Record<string, unknown>): boolean {
  if (typeof port.target === 'number') return true;
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isPlainObject) : [];
  return containers.some((c) => Array.isArray(c.ports) && c.ports.some((p) => isPlainObject(p) && p.name === port.target && (p.protocol ?? 'TCP') === port.l4));
}

export interface ServicePlan {
  service: Located;
  ops: EditOp[];
  notes: string[];
}

/** Exact source text of the node at a path, so uninject can restore `'8080'` and not `"8080"`. */
function sourceText(located: Located, path: (string | number)[]): string | undefined {
  const node = located.source.docs[located.ref.docIndex]!.getIn([...located.ref.base, ...path], true) as Node | undefined;
  if (!node || !isScalar(node) || !node.range || located.source.format === 'json') return undefined;
  return located.source.text.slice(node.range[0], node.range[1]);
}

export function planServices(
  services: Located[],
  workloads: Located[],
  servicesOf: (workload: ObjectRef) => Located[],
  injected: Map<ObjectRef, WorkloadContext>,
): { plans: ServicePlan[]; workloadNotes: Map<ObjectRef, string[]>; routed: Set<ObjectRef> } {
  const plans: ServicePlan[] = [];
  const workloadNotes = new Map<ObjectRef, string[]>();
  const note = (ref: ObjectRef, text: string) => workloadNotes.set(ref, [...(workloadNotes.get(ref) ?? []), text]);
  const routed = new Set<ObjectRef>();

  // Each Service's workloads, in input order, from the (indexed) Services of each workload.
  const selectedBy = new Map<ObjectRef, Located[]>();
  for (const w of workloads) {
    for (const service of servicesOf(w.ref)) {
      const list = selectedBy.get(service.ref);
      if (list) list.push(w);
      else selectedBy.set(service.ref, [w]);
    }
  }
  for (const service of services) {
    const selected = selectedBy.get(service.ref) ?? [];
    const facts: Selected[] = selected.map((w) => {
      const ctx = injected.get(w.ref);
      const podSpec = (getPath(w.ref.value, POD_SPEC_PATHS[w.ref.kind]!) ?? {}) as Record<string, unknown>;
      return ctx && ctx.settings.proxy !== 'none' ? { podSpec, ports: ctx.ports } : { podSpec };
    });
    if (!facts.some((f) => f.ports !== undefined)) continue;
    const name = `Service/${service.ref.name}`;
    const ports = getPath(service.ref.value, ['spec', 'ports']);
    const list = Array.isArray(ports) ? ports : [];
    const status: ServiceStatus = { v: 1, targetPorts: [], createdAnnotations: false };
    const ops: EditOp[] = [];
    const moves: string[] = [];
    const mixed: string[] = [];
    list.forEach((port, index) => {
      const portFacts = isPlainObject(port) ? servicePortsOf({ spec: { ports: [port] } }, service.ref.name)[0] : undefined;
      const listener = portFacts && routeServicePort(portFacts, facts);
      if (!isPlainObject(port) || listener === undefined) return;
      if (listener === 'mixed') {
        mixed.push(String(port.name ?? port.port));
        return;
      }
      const path = ['spec', 'ports', index, 'targetPort'];
      if (port.targetPort === undefined) {
        status.targetPorts.push({ index });
        ops.push({ op: 'setPairs', path: ['spec', 'ports', index], pairs: [['targetPort', listener]] });
      } else {
        const source = sourceText(service, path);
        status.targetPorts.push({ index, value: port.targetPort, ...(source !== undefined ? { source } : {}) });
        ops.push({ op: 'setScalar', path, value: listener });
      }
      moves.push(`${String(port.targetPort ?? port.port)} -> ${listener}`);
    });
    if (mixed.length > 0) {
      for (const w of selected) note(w.ref, `${name} port ${mixed.join(', ')} sends to pods that are not all injected alike: left alone`);
    }
    if (ops.length === 0) continue;
    const metadata = service.ref.value.metadata;
    if (isPlainObject(metadata) && metadata.annotations === null) {
      for (const w of selected) note(w.ref, `${name} has an empty (null) metadata.annotations: its targetPort is left alone (${moves.join(', ')})`);
      continue;
    }
    status.createdAnnotations = !isPlainObject(metadata) || metadata.annotations === undefined || onlyBookkeeping(metadata.annotations);
    ops.push({ op: 'setPairs', path: ['metadata', 'annotations'], pairs: [[STATUS_ANNOTATION, formatStatus(status)]] });
    const moved = moves.join(', ');
    plans.push({ service, ops, notes: [`targetPort ${moved}`] });
    // A headless Service has no virtual IP to translate ports: clients dial the pods' IPs on the
    // port they know (SRV records give the new one). The original port is the app's own, closed
    // by the pod's NetworkPolicy under strict mTLS.
    const headless = getPath(service.ref.value, ['spec', 'clusterIP']) === 'None';
    for (const w of selected) {
      routed.add(w.ref);
      note(w.ref, `${name} targetPort ${moved}`);
      if (headless) note(w.ref, `warning: ${name} is headless (clusterIP: None): its clients dial the pods directly, so they must use the proxy's port (${moved}; SRV records give it), or keep --mtls permissive while they still use the app's`);
    }
  }
  for (const [ref, ctx] of injected) {
    if (ctx.settings.proxy === 'none' || ctx.appPort === undefined || routed.has(ref)) continue;
    const targets = proxiedPorts(ctx.ports).map((p) => `${p.port} -> ${p.listener}`).join(', ');
    note(ref, `no Service in the input routes to it: point your Service's targetPorts at the proxy (${targets})`);
  }
  return { plans, workloadNotes, routed };
}

/**
 * Annotations kpt and kustomize add to every item they hand a function (file path, index, ids)
 * and take away again: a map of only those is one the user never wrote, so inject records it as
 * created, and the output is the same whether inject ran in a pipe or as a function.
 */
const BOOKKEEPING = /^(?:internal\.)?config\.kubernetes\.io\/|^kustomize\.config\.k8s\.io\//;

function onlyBookkeeping(annotations: unknown): boolean {
  return isPlainObject(annotations) && Object.keys(annotations).every((k) => BOOKKEEPING.test(k));
}

export function uninjectServiceOps(ref: ObjectRef): EditOp[] {
  const status = readStatus<ServiceStatus>(ref.value.metadata);
  if (!status || !Array.isArray(status.targetPorts)) return [];
  const ops: EditOp[] = [];
  for (const t of status.targetPorts) {
    const portPath = ['spec', 'ports', t.index];
    if (t.value === undefined) ops.push({ op: 'removeKeys', path: portPath, keys: ['targetPort'] });
    else ops.push({ op: 'setScalar', path: [...portPath, 'targetPort'], value: t.value, ...(t.source !== undefined ? { source: t.source } : {}) });
  }
  // The map goes only when nothing else is in it now (kpt and kustomize may have put theirs there).
  const annotations = getPath(ref.value, ['metadata', 'annotations']);
  const othersNow = isPlainObject(annotations) && Object.keys(annotations).some((k) => k !== STATUS_ANNOTATION);
  if (status.createdAnnotations && !othersNow) ops.push({ op: 'removeKeys', path: ['metadata'], keys: ['annotations'] });
  else ops.push({ op: 'removeKeys', path: ['metadata', 'annotations'], keys: [STATUS_ANNOTATION] });
  return ops;
}

