/**
 * An HTTP proxy in front of a port that does not speak HTTP: a database, cache or broker (declared
 * tcp, or a well-known server-first port) or a TLS port behind an HTTP connection manager breaks
 * every client. Checked in the Envoy and bundled-proxy configs the pod's ConfigMap carries,
 * whoever wrote them (an older sidecarctl put an HTTP listener in front of a pod's first port,
 * whatever it was).
 */
import type { PortPlan } from '../../model/ports.js';
import { mountedConfigs, parseEmbedded, type EmbeddedConfig } from '../model.js';
import { portsByWorkload } from '../ports.js';
import type { Rule, RuleFinding } from '../types.js';
import type { Path } from '../locate.js';
import { list, obj, type Json } from '../json-shape.js';

const HCM = 'envoy.filters.network.http_connection_manager';

/** A port known not to speak HTTP: declared or well known, never merely undetected. */
function opaque(plan: PortPlan | undefined): plan is PortPlan {
  return plan !== undefined && (plan.protocol === 'tcp' || plan.protocol === 'tls') && plan.source !== 'detected';
}

/** Envoy: [listener path, app port] of every HTTP connection manager that routes to 127.0.0.1:port. */
function envoyHttpTargets(config: Json): [Path, number][] {
  const resources = obj(config.static_resources);
  const clusterPort = new Map<string, number>();
  list(resources.clusters).forEach((c) => {
    const endpoints = list(obj(obj(c).load_assignment).endpoints).flatMap((e) => list(obj(e).lb_endpoints));
    const address = obj(obj(obj(obj(endpoints[0]).endpoint).address).socket_address);
    if ((address.address === '127.0.0.1' || address.address === 'localhost' || address.address === '::1') && typeof address.port_value === 'number') {
      clusterPort.set(String(obj(c).name), address.port_value);
    }
  });
  const out: [Path, number][] = [];
  list(resources.listeners).forEach((l, li) => {
    list(obj(l).filter_chains).forEach((chain, ci) => {
      list(obj(chain).filters).forEach((f, fi) => {
        if (obj(f).name !== HCM) return;
        const routes = list(obj(obj(obj(f).typed_config).route_config).virtual_hosts).flatMap((vh) => list(obj(vh).routes));
        for (const r of routes) {
          const port = clusterPort.get(String(obj(obj(r).route).cluster));
          if (port !== undefined) out.push([['static_resources', 'listeners', li, 'filter_chains', ci, 'filters', fi], port]);
        }
      });
    });
  });
  return out;
}

/** The bundled proxy: its inbound listeners that speak HTTP (http, the default, http2 and grpc). */
function proxyHttpTargets(config: Json): [Path, number][] {
  const inbound = config.inbound;
  const listeners = Array.isArray(inbound) ? inbound : inbound === undefined ? [] : [inbound];
  return listeners.flatMap((l, i): [Path, number][] => {
    const port = obj(obj(l).target).port;
    const protocol = obj(l).protocol ?? 'http';
    return typeof port === 'number' && (protocol === 'http' || protocol === 'http2' || protocol === 'grpc') ? [[Array.isArray(inbound) ? ['inbound', i] : ['inbound'], port]] : [];
  });
}

function httpTargets(config: EmbeddedConfig, value: unknown): [Path, number][] {
  if (config.kind === 'envoy') return envoyHttpTargets(obj(value));
  if (config.kind === 'proxy') return proxyHttpTargets(obj(value));
  return [];
}

export const protocolMismatch: Rule = {
  id: 'protocol-mismatch',
  severity: 'error',
  summary: 'no HTTP listener in front of a port declared or known as TCP or TLS (databases, caches, brokers, TLS apps)',
  check(model) {
    const out: RuleFinding[] = [];
    for (const [w, ports] of portsByWorkload(model)) {
      if (!ports) continue;
      for (const config of mountedConfigs(model, w)) {
        const parsed = config.kind === 'envoy' || config.kind === 'proxy' ? parseEmbedded(config) : null;
        if (!parsed?.ok) continue;
        for (const [path, port] of httpTargets(config, parsed.value)) {
          const plan = ports.plans.find((p) => p.port === port && p.l4 === 'TCP');
          if (!opaque(plan)) continue;
          out.push({
            at: parsed.at(path),
            message: `${config.key}: an HTTP listener sends to port ${port} of ${w.label}, which speaks ${plan.protocol} (${plan.source}): its clients break; inject again (sidecarctl inject gives it a TCP listener), or set sidecarctl.io/port-protocol if it does speak HTTP`,
            subject: config.owner,
          });
        }
      }
    }
    return out;
  },
};
