/**
 * The per-port plan of a workload as lint sees it, from inject's own model (src/model/ports.ts)
 * and inject's Service selection, so lint and inject never disagree about which port goes where.
 */
import { podContext } from '../inject/plan.js';
import { selects } from '../inject/services.js';
import { planPorts, servicePortsOf, type PortPlan, type ServicePortFacts } from '../model/ports.js';
import { DEFAULT_SETTINGS } from '../settings/options.js';
import type { Settings } from '../settings/types.js';
import type { LintModel, LintObject, Workload } from './model.js';
import { portsOf } from './pod.js';

type Json = Record<string, unknown>;

export interface WorkloadPorts {
  w: Workload;
  /** The pod spec as inject saw it: without the sidecars inject added (named in its status). */
  spec: Json;
  plans: PortPlan[];
  /** Null for a proxy sidecar written by hand. */
  settings: Settings | null;
}

function appSpecOf(w: Workload): Json {
  const ours = new Set([...(w.status?.containers ?? []), ...(w.status?.initContainers ?? [])]);
  const keep = (list: unknown) => (Array.isArray(list) ? list.filter((c) => !(c && typeof c === 'object' && ours.has(String((c as Json).name)))) : list);
  return { ...w.spec, containers: keep(w.spec.containers), ...(w.spec.initContainers !== undefined ? { initContainers: keep(w.spec.initContainers) } : {}) };
}

/**
 * A proxy sidecar written by hand (not by inject): a sidecar port named `*inbound` in front of the
 * main container's first TCP port, the one-port convention such configs follow.
 */
function handWritten(w: Workload, servicePorts: ServicePortFacts[]): WorkloadPorts | null {
  const inbound = w.containers.filter((c) => c.role === 'sidecar').flatMap(portsOf).find((p) => p.name?.endsWith('inbound'));
  if (!inbound) return null;
  const spec = { ...w.spec, containers: w.containers.filter((c) => c.role === 'app' && c.list === 'containers').map((c) => c.value) };
  // What each port speaks, by the same rules as inject; the one listener is the hand-written one.
  const resolved = planPorts(spec, servicePorts, { ...DEFAULT_SETTINGS, proxyPort: inbound.number }, { reserved: [] });
  const first = resolved.find((p) => p.l4 === 'TCP');
  if (!first) return null;
  const plans = resolved.map((p): PortPlan => {
    const { listener: _listener, ...rest } = p;
    return p === first ? { ...rest, listener: inbound.number } : { ...rest, notProxied: 'not proxied (hand-written proxy)' };
  });
  return { w, spec, settings: null, plans };
}

/** The plan of a workload with a proxy (injected, or hand-written), or null. */
export function workloadPorts(w: Workload, services: readonly LintObject[]): WorkloadPorts | null {
  const servicePorts = services.filter((s) => selects(s.ref, w.ref)).flatMap((s) => servicePortsOf(s.ref.value, s.ref.name));
  if (!w.status) return handWritten(w, servicePorts);
  const result = w.settings();
  if (!result.ok || result.settings.proxy === 'none') return null;
  const spec = appSpecOf(w);
  const plans = podContext(spec, w.ref.kind, w.ref.name, result.settings, { servicePorts, podMeta: w.podMeta }).ports;
  return { w, spec, plans, settings: result.settings };
}

const cache = new WeakMap<LintModel, Map<Workload, WorkloadPorts | null>>();

/** Every workload's plan, computed once per lint run. */
export function portsByWorkload(model: LintModel): Map<Workload, WorkloadPorts | null> {
  let plans = cache.get(model);
  if (!plans) {
    const services = model.objects.filter((o) => o.ref.kind === 'Service');
    plans = new Map(model.workloads.map((w) => [w, workloadPorts(w, services)]));
    cache.set(model, plans);
  }
  return plans;
}
