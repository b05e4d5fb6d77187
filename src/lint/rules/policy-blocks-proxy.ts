/**
 * A NetworkPolicy that lets an app port of a proxied pod in, but not the proxy's listener for it:
 * the Service now sends to the listener, so every request is dropped (Grafana's policy allows
 * 3000; after inject its Service sends to 15006). The same for a client's egress rule towards
 * such pods. Uses inject's own policy rules (src/network/policies.ts), so what inject amends is
 * exactly what lint asks for.
 */
import { policyGaps, withListeners, type ProxiedPorts } from '../../network/policies.js';
import type { ObjectRef } from '../../manifest/workloads.js';
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';

export const policyBlocksProxy: Rule = {
  id: 'policy-blocks-proxy',
  severity: 'error',
  summary: "a NetworkPolicy that lets in an app port of a proxied pod lets in the proxy's listener for it too (ingress, and clients' egress)",
  check(model) {
    const planned: [ObjectRef, ProxiedPorts][] = [];
    const labels = new Map<ObjectRef, string>();
    for (const [w, ports] of portsByWorkload(model)) {
      if (!ports?.settings) continue; // hand-written proxies follow their own rules
      planned.push([w.ref, { settings: ports.settings, ports: ports.plans }]);
      labels.set(w.ref, w.label);
    }
    const proxied = withListeners(planned);
    if (proxied.length === 0) return [];
    const out: RuleFinding[] = [];
    for (const policy of model.objects.filter((o) => o.ref.kind === 'NetworkPolicy')) {
      for (const gap of policyGaps(policy.ref, proxied)) {
        const whose = gap.section === 'egress' ? 'egress to' : 'ingress of';
        for (const [workload, moved] of gap.byWorkload) {
          out.push({
            at: policy.at(['spec', gap.section, gap.rule, 'ports']),
            message: `NetworkPolicy ${policy.ref.name} ${gap.section}[${gap.rule}] allows the app port but not the proxy's listener in ${whose} ${labels.get(workload)}: its Service sends there, so every request is dropped; allow ${moved.join(', ')} with the same peers (sidecarctl inject does this)`,
            subject: policy,
          });
        }
      }
    }
    return out;
  },
};
