/** Envoy configs in ConfigMaps valid for Envoy's v3 API (strict proto3 JSON + protoc-gen-validate). */
import { formatPath } from '../../validate/issue.js';
import { parseEmbedded } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';

export const envoyConfig: Rule = {
  id: 'envoy-config',
  severity: 'error',
  summary: 'Envoy bootstrap configs (ConfigMap keys `envoy*.yaml`/`.json`) are valid for Envoy\'s v3 API; deprecated fields are warnings',
  async check(model) {
    const configs = model.configs.filter((c) => c.kind === 'envoy');
    if (configs.length === 0) return [];
    // The protos are the heaviest part of lint: load them only when there is an Envoy config.
    const { loadEnvoyValidator, DEPRECATED_PREFIX } = await import('../../validate/envoy.js');
    const validator = await loadEnvoyValidator();
    const out: RuleFinding[] = [];
    for (const config of configs) {
      const parsed = parseEmbedded(config);
      if (!parsed.ok) {
        out.push({ at: parsed.at, message: `${config.key}: not valid YAML: ${parsed.message}`, subject: config.owner });
        continue;
      }
      for (const issue of validator.validateBootstrap(parsed.value)) {
        const deprecated = issue.message.startsWith(DEPRECATED_PREFIX);
        out.push({
          at: parsed.at(issue.path),
          message: `${config.key}: ${formatPath(issue.path)}: ${issue.message}`,
          subject: config.owner,
          ...(deprecated ? { severity: 'warning' as const } : {}),
        });
      }
    }
    return out;
  },
};
