/**
 * Browsers and cloud load balancers have no client certificate: a port the internet reaches (a
 * LoadBalancer or NodePort Service, externalIPs, an Ingress backend) must not land on a listener
 * that demands one, or the public site is down. inject gives such ports an edge or permissive
 * listener under --mtls strict; this checks the configs the pod actually carries (Envoy's and the
 * bundled proxy's), whoever wrote them.
 */
import { selects } from '../../inject/services.js';
import { ingressBackends, publicReason } from '../../network/public.js';
import { mountedConfigs, parseEmbedded, type EmbeddedConfig } from '../model.js';
import type { Path } from '../locate.js';
import type { Position, Rule, RuleFinding } from '../types.js';
import { list, obj, type Json } from '../json-shape.js';

/** Envoy: the listener on `port` whose every filter chain requires a client certificate. */
function envoyStrictListener(config: Json, port: number): Path | undefined {
  const listeners = list(obj(config.static_resources).listeners);
  const i = listeners.findIndex((l) => obj(obj(obj(l).address).socket_address).port_value === port);
  if (i < 0) return undefined;
  const chains = list(obj(listeners[i]).filter_chains);
  const demands = (chain: unknown) => obj(obj(obj(chain).transport_socket).typed_config).require_client_certificate === true;
  return chains.length > 0 && chains.every(demands) ? ['static_resources', 'listeners', i] : undefined;
}

/** The bundled proxy: the inbound listener on `port` with mTLS strict. */
function proxyStrictListener(config: Json, port: number): Path | undefined {
  const inbound = config.inbound;
  const listeners = Array.isArray(inbound) ? inbound : inbound === undefined ? [] : [inbound];
  const i = listeners.findIndex((l) => obj(l).port === port);
  if (i < 0 || obj(obj(listeners[i]).mtls).mode !== 'strict') return undefined;
  return Array.isArray(inbound) ? ['inbound', i, 'mtls', 'mode'] : ['inbound', 'mtls', 'mode'];
}

/** Where in the config the listener on `port` demands a client certificate, if it does. */
function strictListener(config: EmbeddedConfig, port: number): Position | undefined {
  const parsed = config.kind === 'envoy' || config.kind === 'proxy' ? parseEmbedded(config) : null;
  if (!parsed?.ok) return undefined;
  const path = config.kind === 'envoy' ? envoyStrictListener(obj(parsed.value), port) : proxyStrictListener(obj(parsed.value), port);
  return path && parsed.at(path);
}

export const publicStrict: Rule = {
  id: 'public-strict',
  severity: 'error',
  summary: 'a port the internet reaches (LoadBalancer, NodePort, externalIPs, Ingress backend) does not land on a listener that demands a client certificate',
  check(model) {
    const out: RuleFinding[] = [];
    const backends = model.objects.filter((o) => o.ref.kind === 'Ingress').flatMap((o) => ingressBackends(o.ref));
    for (const service of model.objects.filter((o) => o.ref.kind === 'Service')) {
      const ports = list(obj(service.ref.value.spec).ports);
      const selected = model.workloads.filter((w) => selects(service.ref, w.ref));
      if (selected.length === 0) continue;
      ports.forEach((raw, i) => {
        const port = obj(raw);
        const target = typeof port.targetPort === 'number' ? port.targetPort : typeof port.port === 'number' && port.targetPort === undefined ? port.port : undefined;
        const why = target === undefined ? undefined : publicReason(service.ref, port, backends);
        if (target === undefined || !why) return;
        for (const w of selected) {
          for (const config of mountedConfigs(model, w)) {
            const listener = strictListener(config, target);
            if (!listener) continue;
            out.push({
              at: service.at(['spec', 'ports', i, port.targetPort === undefined ? 'port' : 'targetPort']),
              message: `${why} port ${String(port.port)} reaches the internet, but lands on a listener of ${w.label} that demands a client certificate (${config.key} at line ${listener.line}): browsers and load balancers have none; inject again under --mtls strict (an edge listener, or --public-mtls permissive)`,
              subject: service,
            });
          }
        }
      });
    }
    return out;
  },
};
