/**
 * A Service in front of a proxied workload sends each port to the proxy's listener for it, not
 * straight to the app port behind it. Uses inject's own rules (Service selection, the per-port
 * plan), so lint and inject never disagree about which port goes where.
 */
import { selects } from '../../inject/services.js';
import { appPortsOf, servicePortsOf, targetOf } from '../../model/ports.js';
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';

type Json = Record<string, unknown>;

export const serviceBypass: Rule = {
  id: 'service-bypass',
  severity: 'error',
  summary: "a Service selecting a proxied workload targets the proxy's listener for each port, not the app port behind it",
  check(model) {
    const out: RuleFinding[] = [];
    const services = model.objects.filter((o) => o.ref.kind === 'Service');
    const plans = portsByWorkload(model);
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
          message: `Service ${service.ref.name} port ${String(p.port)} sends traffic straight to app port ${first.port} of ${[...new Set(selected.map((w) => w.label))].join(', ')}, bypassing its proxy (retries, rate limit, mTLS): set targetPort: ${first.listener} (sidecarctl inject does this)`,
          subject: service,
        });
      });
    }
    return out;
  },
};
