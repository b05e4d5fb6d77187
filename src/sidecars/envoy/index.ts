/** The Envoy proxy sidecar: container, config file, metrics annotations. */
import { drainSeconds } from '../hardening.js';
import { certificateSource } from '../mtls/index.js';
import { mtlsNotes, trafficNotes } from '../traffic-notes.js';
import { emptyContribution, type SidecarContribution, type WorkloadContext } from '../types.js';
import { ENVOY_CONFIG_FILE, ENVOY_METRICS_PORT, renderEnvoyConfig, sdsFiles } from './config.js';
import { envoyContainer } from './container.js';
import { proxiedPorts } from '../../model/ports.js';

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
  out.ports.push(...proxiedPorts(ctx.ports).map((p) => p.listener));
  out.podAnnotations['prometheus.io/scrape'] = 'true';
  out.podAnnotations['prometheus.io/port'] = String(ENVOY_METRICS_PORT);
  out.podAnnotations['prometheus.io/path'] = '/stats/prometheus';
  out.notes.push(...trafficNotes(ctx));
  if (certs) out.notes.push(...mtlsNotes(ctx, certs.identity), ...certs.notes);
  return out;
}

