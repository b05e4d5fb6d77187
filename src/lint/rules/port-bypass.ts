/**
 * A TCP port of a proxied workload that does not go through its proxy: no retries, no rate limit,
 * and no mTLS on it. Ports the user skipped on purpose (`port-protocol PORT=skip`) are not
 * flagged; under strict mTLS any other such port is an error, since it takes plaintext.
 */
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';

export const portBypass: Rule = {
  id: 'port-bypass',
  severity: 'warning',
  summary: 'every TCP port of a proxied workload goes through its proxy, or is skipped on purpose (error under strict mTLS)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const [w, ports] of portsByWorkload(model)) {
      if (!ports?.settings) continue; // hand-written proxies follow their own rules
      const strict = ports.settings.mtls === 'strict';
      for (const plan of ports.plans) {
        if (plan.l4 !== 'TCP' || plan.listener !== undefined || plan.protocol === 'skip') continue;
        const container = w.containers.find((c) => c.name === plan.container);
        out.push({
          at: w.at(container ? [...container.path, 'name'] : ['metadata']),
          message: `port ${plan.port} (${plan.protocol === 'detect' ? 'protocol unknown' : plan.protocol}) of container ${plan.container} bypasses the proxy (${plan.notProxied ?? 'not proxied'})${strict ? ': it takes plaintext from other pods despite --mtls strict' : ''}; proxy it, or say sidecarctl.io/port-protocol: "${plan.port}=skip" to leave it alone on purpose`,
          subject: w,
          container: plan.container,
          ...(strict ? { severity: 'error' as const } : {}),
        });
      }
    }
    return out;
  },
};
