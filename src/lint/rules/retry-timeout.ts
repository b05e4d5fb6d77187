/** Retries with a per-try timeout: without one, a hung attempt is never retried and eats the whole timeout. */
import { eachMap, field } from '../walk.js';
import { parseEmbedded } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { proxiedSettings } from './sidecar-settings.js';

export const retryTimeout: Rule = {
  id: 'retry-timeout',
  severity: 'warning',
  summary: 'retries come with a per-try timeout (settings, and `retry_policy` in hand-written Envoy configs)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const { workload, settings, origin } of proxiedSettings(model)) {
      if (settings.retries > 0 && settings.perTryTimeoutMs === undefined) {
        out.push({
          at: origin('retries') ?? workload.at(['metadata']),
          message: `retries ${settings.retries} without a per-try timeout: a hung attempt is never retried; set sidecarctl.io/per-try-timeout (or per-try-timeout in the profile), e.g. 500ms`,
          subject: workload,
        });
      }
    }
    // Generated configs follow the settings checked above; hand-written ones are checked here.
    for (const config of model.configs.filter((c) => c.kind === 'envoy' && !c.owner.generated)) {
      const parsed = parseEmbedded(config);
      if (!parsed.ok) continue;
      eachMap(parsed.value, (map, path) => {
        const policy = field(map, 'retry_policy');
        if (!policy || typeof policy.value !== 'object' || policy.value === null) return;
        if (field(policy.value as Record<string, unknown>, 'per_try_timeout')) return;
        out.push({
          at: parsed.at([...path, policy.key]),
          message: `${config.key}: retry_policy without per_try_timeout: a hung attempt is never retried; add per_try_timeout (e.g. 0.5s)`,
          subject: config.owner,
        });
      });
    }
    return out;
  },
};
