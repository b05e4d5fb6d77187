/** Fluent Bit configs (YAML format) in ConfigMaps accepted by the pinned Fluent Bit. */
import { formatPath } from '../../validate/issue.js';
import { validateFluentBitConfig, FLUENT_BIT_VERSION } from '../../validate/fluentbit.js';
import { parseEmbedded } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { fluentBitDeliveryIssues } from '../fluent-delivery.js';

export const fluentBitConfig: Rule = {
  id: 'fluent-bit-config',
  severity: 'error',
  summary: `Fluent Bit configs (ConfigMap keys \`fluent-bit*.yaml\`, YAML format) are accepted by Fluent Bit ${FLUENT_BIT_VERSION}`,
  check(model) {
    return model.configs
      .filter((c) => c.kind === 'fluent-bit')
      .flatMap((config) => {
        const parsed = parseEmbedded(config);
        if (!parsed.ok) return [{ at: parsed.at, message: `${config.key}: not valid YAML: ${parsed.message}`, subject: config.owner }];
        const valid: RuleFinding[] = validateFluentBitConfig(parsed.value).map((i) => ({
          at: parsed.at(i.path),
          message: `${config.key}: ${formatPath(i.path)}: ${i.message}`,
          subject: config.owner,
        }));
        // Accepted by Fluent Bit, but losing logs when run (warnings).
        const delivery: RuleFinding[] = fluentBitDeliveryIssues(parsed.value).map((i) => ({
          at: parsed.at(i.path),
          message: `${config.key}: ${formatPath(i.path)}: ${i.message}`,
          severity: 'warning',
          subject: config.owner,
        }));
        return [...valid, ...delivery];
      });
  },
};
