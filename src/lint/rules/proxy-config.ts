/** Bundled-proxy configs (`proxy.json`) accepted by `sidecarctl proxy`. */
import { ConfigError, resolveConfig } from '../../proxy/config.js';
import { parseEmbedded } from '../model.js';
import type { Path } from '../locate.js';
import type { Rule, RuleFinding } from '../types.js';

/** `outbound[1].target.port` -> ['outbound', 1, 'target', 'port'] */
export function parseDottedPath(path: string): Path {
  if (path === '(root)' || path === '') return [];
  return path.split(/\.|(?=\[)/).map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : p));
}

export const proxyConfig: Rule = {
  id: 'proxy-config',
  severity: 'error',
  summary: 'bundled-proxy configs (ConfigMap key `proxy.json`) are accepted by `sidecarctl proxy` (schemas/proxy-config.schema.json)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const config of model.configs.filter((c) => c.kind === 'proxy')) {
      const parsed = parseEmbedded(config);
      if (!parsed.ok) {
        out.push({ at: parsed.at, message: `${config.key}: not valid JSON: ${parsed.message}`, subject: config.owner });
        continue;
      }
      try {
        resolveConfig(parsed.value, config.key);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const i of error.issues) out.push({ at: parsed.at(parseDottedPath(i.path)), message: `${config.key}: ${i.path}: ${i.message}`, subject: config.owner });
      }
    }
    return out;
  },
};
