/** The Envoy proxy sidecar: container, config file, metrics annotations. */
import { drainSeconds } from '../hardening.js';
import { emptyContribution, type SidecarContribution, type WorkloadContext } from '../types.js';
import { ENVOY_CONFIG_FILE, ENVOY_METRICS_PORT, renderEnvoyConfig } from './config.js';
import { envoyContainer } from './container.js';

export function envoySidecar(ctx: WorkloadContext, configVolume: string): SidecarContribution {
  const out = emptyContribution();
  const drain = drainSeconds(ctx.podSpec);
  out.configFiles[ENVOY_CONFIG_FILE] = renderEnvoyConfig(ctx).text;
  out.containers.push(envoyContainer(ctx, drain, ctx.configDir, configVolume));
  out.ports.push(ENVOY_METRICS_PORT, ctx.settings.adminPort, ...ctx.settings.upstreams.map((u) => u.localPort));
  if (ctx.appPort !== undefined) out.ports.push(ctx.settings.proxyPort);
  out.podAnnotations['prometheus.io/scrape'] = 'true';
  out.podAnnotations['prometheus.io/port'] = String(ENVOY_METRICS_PORT);
  out.podAnnotations['prometheus.io/path'] = '/stats/prometheus';
  if (ctx.appPort !== undefined) out.notes.push(`inbound :${ctx.settings.proxyPort} -> app :${ctx.appPort}`);
  else out.notes.push('no app port found: no inbound listener (set --app-port or sidecarctl.io/app-port)');
  for (const u of ctx.settings.upstreams) out.notes.push(`outbound 127.0.0.1:${u.localPort} -> ${u.host}:${u.port}`);
  return out;
}
