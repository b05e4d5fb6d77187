/** The bundled proxy sidecar: container, proxy.json (and the bundle itself unless --proxy-image), metrics annotations. */
import { certificateSource } from '../mtls/index.js';
import { mtlsNotes, trafficNotes } from '../traffic-notes.js';
import { emptyContribution, type SidecarContribution, type WorkloadContext } from '../types.js';
import { PROXY_CONFIG_FILE, renderBundledProxyConfig } from './config.js';
import { BUNDLE_FILE, proxyBundle, proxyContainer } from './container.js';
import { proxiedPorts } from '../../model/ports.js';

export function bundledProxySidecar(ctx: WorkloadContext, configVolume: string): SidecarContribution {
  const s = ctx.settings;
  const out = emptyContribution();
  out.configFiles[PROXY_CONFIG_FILE] = renderBundledProxyConfig(ctx);
  if (!s.proxyImage) out.configFiles[BUNDLE_FILE] = proxyBundle();
  const container = proxyContainer(ctx, configVolume);
  const source = certificateSource(ctx);
  if (source) {
    out.volumes.push(source.volume);
    (container.volumeMounts as unknown[]).push(source.volumeMount);
    out.objects.push(...source.objects);
  }
  out.containers.push(container);
  out.ports.push(s.adminPort, ...s.upstreams.map((u) => u.localPort));
  out.ports.push(...proxiedPorts(ctx.ports).map((p) => p.listener));
  out.podAnnotations['prometheus.io/scrape'] = 'true';
  out.podAnnotations['prometheus.io/port'] = String(s.adminPort);
  out.podAnnotations['prometheus.io/path'] = '/metrics';
  out.notes.push(...trafficNotes(ctx));
  if (source) out.notes.push(...mtlsNotes(ctx, source.identity), ...source.notes);
  return out;
}
