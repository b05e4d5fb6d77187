/** A token bucket that holds at least one second of the rate: a smaller burst silently lowers the rate. */
import { durationMs } from '../duration.js';
import { eachMap, field } from '../walk.js';
import { parseEmbedded } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { proxiedSettings, settingsErrors } from './sidecar-settings.js';

export const rateLimitBurst: Rule = {
  id: 'rate-limit-burst',
  severity: 'warning',
  summary: 'a rate limit\'s burst is at least the rate (settings; `token_bucket` in hand-written Envoy configs); a burst needs a rate',
  check(model) {
    const out: RuleFinding[] = settingsErrors(model, 'rate-limit-burst').map((f) => ({ ...f, severity: 'error' as const }));
    for (const { workload, settings, origin } of proxiedSettings(model)) {
      if (settings.rateLimit === undefined || settings.burst === undefined || settings.burst >= settings.rateLimit) continue;
      out.push({
        at: origin('burst') ?? workload.at(['metadata']),
        message: `burst ${settings.burst} is below the rate limit ${settings.rateLimit}/s: a full second of requests cannot pass, so clients see 429s below the rate; set burst >= ${settings.rateLimit}`,
        subject: workload,
      });
    }
    for (const config of model.configs.filter((c) => c.kind === 'envoy' && !c.owner.generated)) {
      const parsed = parseEmbedded(config);
      if (!parsed.ok) continue;
      eachMap(parsed.value, (map, path) => {
        const bucket = field(map, 'token_bucket');
        if (!bucket || typeof bucket.value !== 'object' || bucket.value === null) return;
        const b = bucket.value as Record<string, unknown>;
        const max = Number(field(b, 'max_tokens')?.value);
        const perFill = Number(field(b, 'tokens_per_fill')?.value ?? 1);
        const interval = durationMs(field(b, 'fill_interval')?.value);
        if (!Number.isFinite(max) || interval === undefined || interval <= 0) return;
        const perSecond = (perFill * 1000) / interval;
        if (max >= perSecond) return;
        out.push({
          at: parsed.at([...path, bucket.key, field(b, 'max_tokens')!.key]),
          message: `${config.key}: token_bucket max_tokens ${max} is below its rate (${perSecond}/s): set max_tokens >= ${Math.ceil(perSecond)}`,
          subject: config.owner,
        });
      });
    }
    return out;
  },
};
