/**
 * A Service in front of a proxied workload sends each port to the proxy's listener for it, not
 * straight to the app port behind it. Uses inject's own rules (Service selection, the per-port
 * plan, which pods are a port's endpoints), so lint and inject never disagree about which port
 * goes where: what inject leaves alone on purpose (a port whose pods are not all proxied alike) is
 * not flagged either.
 */
import { routeServicePort, selects, type Selected } from '../../inject/services.js';
import { servicePortsOf } from '../../model/ports.js';
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';

type Json = Record<string, unknown>;

export const serviceBypass: Rule = {
  id: 'service-bypass',
  severity: 'error',
  summary: "a Service selecting a proxied workload targets the proxy's listener for each port, not the app port behind it",
  check(model) {
    const out: RuleFinding[] = [];
    const plans = portsByWorkload(model);
    for (const service of model.objects.filter((o) => o.ref.kind === 'Service')) {
      const selected = model.workloads.filter((w) => selects(service.ref, w.ref));
      if (!selected.some((w) => plans.get(w))) continue;
      const facts: Selected[] = selected.map((w) => {
        const p = plans.get(w);
        return p ? { podSpec: p.spec, ports: p.plans } : { podSpec: w.spec };
      });
      const spec = service.ref.value.spec && typeof service.ref.value.spec === 'object' ? (service.ref.value.spec as Json) : {};
      (Array.isArray(spec.ports) ? spec.ports : []).forEach((port, i) => {
        const portFacts = servicePortsOf({ spec: { ports: [port] } }, service.ref.name)[0];
        const listener = portFacts && routeServicePort(portFacts, facts);
        if (typeof listener !== 'number') return;
        const p = port as Json;
        out.push({
          at: service.at(['spec', 'ports', i, p.targetPort === undefined ? 'port' : 'targetPort']),
          message: `Service ${service.ref.name} port ${String(p.port)} sends traffic straight to ${[...new Set(selected.map((w) => w.label))].join(', ')}, bypassing its proxy (retries, rate limit, mTLS): set targetPort: ${listener} (sidecarctl inject does this)`,
          subject: service,
        });
      });
    }
    return out;
  },
};
