/**
 * Traffic reaches the proxy only if the Service sends it there: a Service in the input that selects an
 * injected workload gets its targetPort pointed at the proxy port (and uninject puts it back).
 */
import { isScalar, type Node } from 'yaml';
import type { EditOp } from '../manifest/edit-ops.js';
import type { SourceFile } from '../manifest/source.js';
import { isPlainObject, podMetadataPath, type ObjectRef } from '../manifest/workloads.js';
import { getPath } from '../manifest/edit-ops.js';
import type { Json, WorkloadContext } from '../sidecars/types.js';
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

/** Does this Service port send traffic to the app's port? (targetPort by number, by name, or absent.) */
function targetsApp(port: Json, ctx: WorkloadContext): boolean {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target === ctx.appPort;
  if (typeof target !== 'string') return false;
  if (/^\d+$/.test(target)) return Number(target) === ctx.appPort;
  const containers = Array.isArray(ctx.podSpec.containers) ? ctx.podSpec.containers.filter(isPlainObject) : [];
  return containers.some((c) => Array.isArray(c.ports) && c.ports.some((p) => isPlainObject(p) && p.name === target && p.containerPort === ctx.appPort));
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
): { plans: ServicePlan[]; workloadNotes: Map<ObjectRef, string[]> } {
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
    const contexts = selected.map((w) => injected.get(w.ref));
    const proxied = contexts.filter((c): c is WorkloadContext => c !== undefined && c.settings.proxy !== 'none' && c.appPort !== undefined);
    if (proxied.length === 0) continue;
    const name = `Service/${service.ref.name}`;
    const first = proxied[0]!;
    const uniform = proxied.length === selected.length && proxied.every((c) => c.appPort === first.appPort && c.settings.proxyPort === first.settings.proxyPort);
    if (!uniform) {
      for (const w of selected) note(w.ref, `${name} selects workloads that are not all injected alike: its targetPort is left alone`);
      continue;
    }
    const ports = getPath(service.ref.value, ['spec', 'ports']);
    const list = Array.isArray(ports) ? ports : [];
    const status: ServiceStatus = { v: 1, targetPorts: [], createdAnnotations: false };
    const ops: EditOp[] = [];
    list.forEach((port, index) => {
      if (!isPlainObject(port) || !targetsApp(port, first)) return;
      const path = ['spec', 'ports', index, 'targetPort'];
      if (port.targetPort === undefined) {
        status.targetPorts.push({ index });
        ops.push({ op: 'setPairs', path: ['spec', 'ports', index], pairs: [['targetPort', first.settings.proxyPort]] });
      } else {
        const source = sourceText(service, path);
        status.targetPorts.push({ index, value: port.targetPort, ...(source !== undefined ? { source } : {}) });
        ops.push({ op: 'setScalar', path, value: first.settings.proxyPort });
      }
    });
    if (ops.length === 0) continue;
    const metadata = service.ref.value.metadata;
    if (isPlainObject(metadata) && metadata.annotations === null) {
      for (const w of selected) note(w.ref, `${name} has an empty (null) metadata.annotations: its targetPort is left alone; point it at ${first.settings.proxyPort}`);
      continue;
    }
    status.createdAnnotations = !isPlainObject(metadata) || metadata.annotations === undefined;
    ops.push({ op: 'setPairs', path: ['metadata', 'annotations'], pairs: [[STATUS_ANNOTATION, formatStatus(status)]] });
    const moved = status.targetPorts.map((t) => `${t.value ?? '(port)'} -> ${first.settings.proxyPort}`).join(', ');
    plans.push({ service, ops, notes: [`targetPort ${moved}`] });
    for (const w of selected) {
      routed.add(w.ref);
      note(w.ref, `${name} targetPort ${moved}`);
    }
  }
  for (const [ref, ctx] of injected) {
    if (ctx.settings.proxy === 'none' || ctx.appPort === undefined || routed.has(ref)) continue;
    note(ref, `no Service in the input routes to it: point your Service's targetPort at ${ctx.settings.proxyPort} (the proxy), not ${ctx.appPort}`);
  }
  return { plans, workloadNotes };
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
  if (status.createdAnnotations) ops.push({ op: 'removeKeys', path: ['metadata'], keys: ['annotations'] });
  else ops.push({ op: 'removeKeys', path: ['metadata', 'annotations'], keys: [STATUS_ANNOTATION] });
  return ops;
}

