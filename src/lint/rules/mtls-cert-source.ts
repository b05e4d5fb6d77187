/** mTLS with a certificate source: settings, and every DownstreamTlsContext in hand-written Envoy configs. */
import { eachMap, field } from '../walk.js';
import { parseEmbedded } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { settingsErrors } from './sidecar-settings.js';

const CERT_FIELDS = ['tls_certificates', 'tls_certificate_sds_secret_configs', 'tls_certificate_provider_instance', 'tls_certificate_certificate_provider_instance'];

export const mtlsCertSource: Rule = {
  id: 'mtls-cert-source',
  severity: 'error',
  summary: 'mTLS has a certificate source (`mtls-issuer` or `mtls-secret`; certificates in an Envoy `DownstreamTlsContext`)',
  check(model) {
    const out: RuleFinding[] = settingsErrors(model, 'mtls-cert-source');
    for (const config of model.configs.filter((c) => c.kind === 'envoy')) {
      const parsed = parseEmbedded(config);
      if (!parsed.ok) continue;
      eachMap(parsed.value, (map, path) => {
        if (typeof map['@type'] !== 'string' || !map['@type'].endsWith('.DownstreamTlsContext')) return;
        const common = field(map, 'common_tls_context');
        const context = common && typeof common.value === 'object' && common.value !== null ? (common.value as Record<string, unknown>) : {};
        const certs = CERT_FIELDS.map((f) => field(context, f)?.value);
        if (certs.some((c) => (Array.isArray(c) ? c.length > 0 : c !== undefined && c !== null))) return;
        out.push({
          at: parsed.at(common ? [...path, common.key] : path),
          message: `${config.key}: DownstreamTlsContext without a certificate (tls_certificates or tls_certificate_sds_secret_configs): Envoy refuses the listener; point it at the workload's certificate files (sidecarctl: --mtls-issuer or --mtls-secret)`,
          subject: config.owner,
        });
      });
    }
    return out;
  },
};
