/** The Envoy proxy sidecar: container, config file, metrics annotations. */
import { drainSeconds } from '../hardening.js';
import { certificateSource, peerIdentities } from '../mtls/index.js';
import { emptyContribution, type SidecarContribution, type WorkloadContext } from '../types.js';
import { ENVOY_CONFIG_FILE, ENVOY_METRICS_PORT, renderEnvoyConfig, sdsFiles } from './config.js';
import { envoyContainer } from './container.js';

export function envoySidecar(ctx: WorkloadContext, configVolume: string): SidecarContribution {
  const out = emptyContribution();
  const drain = drainSeconds(ctx.podSpec);
  out.configFiles[ENVOY_CONFIG_FILE] = renderEnvoyConfig(ctx).text;
  const certs = certificateSource(ctx);
  if (certs) {
    Object.assign(out.configFiles, sdsFiles(certs));
    out.volumes.push(certs.volume);
    out.objects.push(...certs.objects);
  }
  out.containers.push(envoyContainer(ctx, drain, ctx.configDir, configVolume, certs ? [certs.volumeMount] : []));
  out.ports.push(ENVOY_METRICS_PORT, ctx.settings.adminPort, ...ctx.settings.upstreams.map((u) => u.localPort));
  if (ctx.appPort !== undefined) out.ports.push(ctx.settings.proxyPort);
  out.podAnnotations['prometheus.io/scrape'] = 'true';
  out.podAnnotations['prometheus.io/port'] = String(ENVOY_METRICS_PORT);
  out.podAnnotations['prometheus.io/path'] = '/stats/prometheus';
  if (ctx.appPort !== undefined) out.notes.push(`inbound :${ctx.settings.proxyPort} -> app :${ctx.appPort}`);
  else out.notes.push('no app port found: no inbound listener (set --app-port or sidecarctl.io/app-port)');
  for (const u of ctx.settings.upstreams) {
    const mtls = ctx.settings.upstreamMtls.some((m) => m.name === u.name) ? ' (mTLS)' : '';
    out.notes.push(`outbound 127.0.0.1:${u.localPort} -> ${u.host}:${u.port}${mtls}`);
  }
  if (certs) out.notes.push(...mtlsNotes(ctx, certs.identity), ...certs.notes);
  return out;
}

function mtlsNotes(ctx: WorkloadContext, identity: string): string[] {
  const { mtls, proxyPort } = ctx.settings;
  const notes = [`identity ${identity}`];
  if (mtls === 'off' || ctx.appPort === undefined) return notes;
  const peers = peerIdentities(ctx);
  const who = peers.length > 0 ? peers.join(', ') : `any workload of trust domain ${ctx.settings.trustDomain}`;
  if (mtls === 'strict') notes.push(`mTLS strict on :${proxyPort}: only ${who} (certificate from the CA); plaintext refused`);
  else notes.push(`mTLS permissive on :${proxyPort}: TLS clients must be ${who}; plaintext still accepted (use strict once every client has mTLS)`);
  return notes;
}
