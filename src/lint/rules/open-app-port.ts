/**
 * Under strict mTLS the proxy refuses plaintext, but without iptables every containerPort stays
 * reachable on the pod IP around it. Only a NetworkPolicy closes the app's own ports to other
 * pods (`--network-policy`, on by default with --mtls strict). A warning, not an error: the
 * policy may live in files not linted here.
 */
import { policySelects } from '../../network/policies.js';
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';

export const openAppPort: Rule = {
  id: 'open-app-port',
  severity: 'warning',
  summary: 'a workload under strict mTLS has a NetworkPolicy that closes its app ports to other pods (else they take plaintext on the pod IP)',
  check(model) {
    const out: RuleFinding[] = [];
    const policies = model.objects.filter((o) => o.ref.kind === 'NetworkPolicy');
    for (const [w, ports] of portsByWorkload(model)) {
      if (ports?.settings?.mtls !== 'strict' || ports.settings.proxy === 'none') continue;
      const open = ports.plans.filter((p) => p.listener !== undefined).map((p) => p.port);
      if (open.length === 0 || policies.some((p) => policySelects(p.ref, w.ref))) continue;
      out.push({
        at: w.at(['metadata']),
        message: `${w.label} is under strict mTLS, but no NetworkPolicy here selects it: app port${open.length > 1 ? 's' : ''} ${open.join(', ')} still take plaintext from other pods on the pod IP, around the proxy; inject with --network-policy (the default with --mtls strict) or apply a policy that lets in only the proxy's ports`,
        subject: w,
      });
    }
    return out;
  },
};
