/**
 * A Service in front of a proxied workload sends each port to the proxy's listener for it, not
 * straight to the app port behind it. Uses inject's own rules (Service selection, the per-port
 * plan), so lint and inject never disagree about which port goes where.
 */
import { podContext } from '../../inject/plan.js';
import { selects } from '../../inject/services.js';
import { appPortsOf, servicePortsOf, targetOf, type PortPlan } from '../../model/ports.js';
import type { LintObject, Workload } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { portsOf } from '../pod.js';

type Json = Record<string, unknown>;

/** The pod spec as inject saw it: without the sidecars inject added (named in its status). */
function appSpecOf(w: Workload): Json {
  const ours = new Set([...(w.status?.containers ?? []), ...(w.status?.initContainers ?? [])]);
  const keep = (list: unknown) => (Array.isArray(list) ? list.filter((c) => !(c && typeof c === 'object' && ours.has(String((c as Json).name)))) : list);
  return { ...w.spec, containers: keep(w.spec.containers), ...(w.spec.initContainers !== undefined ? { initContainers: keep(w.spec.initContainers) } : {}) };
}

interface Proxied {
  w: Workload;
  spec: Json;
  plans: PortPlan[];
}

/**
 * A proxy sidecar written by hand (not by inject): a sidecar port named `*inbound` in front of the
 * main container's first TCP port, the one-port convention such configs follow.
 */
function handWrittenPlan(w: Workload): Proxied | null {
  const inbound = w.containers.filter((c) => c.role === 'sidecar').flatMap(portsOf).find((p) => p.name?.endsWith('inbound'));
  if (!inbound) return null;
  const spec = { ...w.spec, containers: w.containers.filter((c) => c.role === 'app' && c.list === 'containers').map((c) => c.value) };
  const first = appPortsOf(spec).find((p) => p.l4 === 'TCP');
  return first ? { w, spec, plans: [{ ...first, protocol: 'detect', source: 'detected', listener: inbound.number }] } : null;
}

/** The per-port plan of an injected workload with a proxy, as inject made it; null otherwise. */
function proxiedPlan(w: Workload, services: LintObject[]): Proxied | null {
  if (!w.status) return handWrittenPlan(w);
  const settings = w.settings();
  if (!settings.ok || settings.settings.proxy === 'none') return null;
  const spec = appSpecOf(w);
  const servicePorts = services.filter((s) => selects(s.ref, w.ref)).flatMap((s) => servicePortsOf(s.ref.value, s.ref.name));
  return { w, spec, plans: podContext(spec, w.ref.kind, w.ref.name, settings.settings, { servicePorts, podMeta: w.podMeta }).ports };
}

export const serviceBypass: Rule = {
  id: 'service-bypass',
  severity: 'error',
  summary: "a Service selecting a proxied workload targets the proxy's listener for each port, not the app port behind it",
  check(model) {
    const out: RuleFinding[] = [];
    const services = model.objects.filter((o) => o.ref.kind === 'Service');
    const plans = new Map(model.workloads.map((w) => [w, proxiedPlan(w, services)]));
    for (const service of services) {
      const selected = model.workloads.filter((w) => selects(service.ref, w.ref));
      // A Service in front of workloads that are not all proxied cannot be re-pointed without
      // breaking the others (inject leaves it alone and says so): nothing to advise here.
      if (selected.length === 0 || selected.some((w) => plans.get(w) === null)) continue;
      const list = service.ref.value.spec && typeof service.ref.value.spec === 'object' ? (service.ref.value.spec as Json).ports : undefined;
      (Array.isArray(list) ? list : []).forEach((port, i) => {
        const facts = servicePortsOf({ spec: { ports: [port] } }, service.ref.name)[0];
        if (!facts) return;
        const listeners = selected.map((w) => {
          const p = plans.get(w)!;
          const target = targetOf(facts, appPortsOf(p.spec), p.spec);
          return target && p.plans.find((plan) => plan.port === target.port && plan.l4 === target.l4 && plan.listener !== undefined);
        });
        const first = listeners[0];
        if (!first || listeners.some((l) => !l || l.listener !== first.listener)) return;
        const p = port as Json;
        out.push({
          at: service.at(['spec', 'ports', i, p.targetPort === undefined ? 'port' : 'targetPort']),
          message: `Service ${service.ref.name} port ${String(p.port)} sends traffic straight to app port ${first.port} of ${selected.map((w) => w.label).join(', ')}, bypassing its proxy (retries, rate limit, mTLS): set targetPort: ${first.listener} (sidecarctl inject does this)`,
          subject: service,
        });
      });
    }
    return out;
  },
};
