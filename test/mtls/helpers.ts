/** mTLS test helpers: settings layers from flags, and the pieces of an injected output we check. */
import { parse } from 'yaml';
import { loadEnvoyValidator } from '../../src/validate/envoy.js';
import { formatPath } from '../../src/validate/issue.js';
import type { SettingsLayer } from '../../src/settings/resolve.js';
import { objectsOfText } from '../helpers/corpus.js';

// Envoy configs are deep; tests walk them with plain property access.
export type Any = any;

export const SDS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/** `['mtls', 'strict']` pairs as the flags layer the CLI would build. */
export function flags(...pairs: [string, string][]): SettingsLayer {
  return pairs.map(([key, value]) => ({ key, value, flag: `--${key}` }));
}

export interface Injected {
  objects: Record<string, Any>[];
  configMap: Any;
  envoy: Any;
  deployment: Any;
  certificate: Any | undefined;
}

export function pieces(text: string): Injected {
  const objects = objectsOfText(text) as Record<string, Any>[];
  const configMap: Any = objects.find((o) => o.kind === 'ConfigMap');
  return {
    objects,
    configMap,
    envoy: parse(configMap.data['envoy.yaml']),
    deployment: objects.find((o) => o.kind === 'Deployment'),
    certificate: objects.find((o) => o.kind === 'Certificate'),
  };
}

/**
 * Strict validation of the file-based SDS files of a ConfigMap: a DiscoveryResponse whose resources
 * are tls Secrets (the validator has no DiscoveryResponse type, so its two fields are checked here).
 */
export async function sdsIssues(configMapData: Record<string, string>): Promise<{ files: number; issues: string[] }> {
  const validator = await loadEnvoyValidator();
  const issues: string[] = [];
  let files = 0;
  for (const [name, text] of Object.entries(configMapData)) {
    if (!name.startsWith('envoy-sds-')) continue;
    files++;
    const doc = parse(text) as Any;
    for (const key of Object.keys(doc)) if (key !== 'resources' && key !== 'version_info') issues.push(`${name}: unknown field ${key}`);
    if (!Array.isArray(doc.resources) || doc.resources.length === 0) issues.push(`${name}: no resources`);
    for (const [i, resource] of (doc.resources ?? []).entries()) {
      const { '@type': type, ...secret } = resource;
      if (type !== SDS_TYPE) issues.push(`${name}: resources[${i}] has @type ${String(type)}`);
      for (const issue of validator.validate('envoy.extensions.transport_sockets.tls.v3.Secret', secret)) issues.push(`${name}: ${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return { files, issues };
}
