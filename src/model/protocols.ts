/**
 * What an app port speaks, and where that was learnt. First match wins (the report names the
 * source):
 *
 *   1. the `port-protocol` setting (flag, profile, annotation `sidecarctl.io/port-protocol`);
 *   2. the `appProtocol` of a Service port that reaches it (Kubernetes' own field);
 *   3. a port-name prefix on the Service port or the container port (Istio's convention:
 *      `grpc`, `grpc-api`, `http2-web`, `redis`, ...);
 *   4. a well-known port of a server-first or binary protocol (Linkerd's default opaque ports and
 *      a few more): such a protocol cannot be sniffed, since the server speaks first;
 *   5. otherwise detected per connection by the proxy (HTTP or else opaque TCP).
 *
 * Adding a protocol is a change here (the tables below) plus its tests; the proxies read only
 * `PortProtocol`.
 */

/** What a proxied port carries. `tls` is passthrough: the app terminates TLS itself. */
export const PORT_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp', 'tls', 'skip'] as const;
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

/** A protocol, or `detect`: decided per connection by the proxy. */
export type ResolvedProtocol = Exclude<PortProtocol, 'skip'> | 'skip' | 'detect';

export type ProtocolSource = 'port-protocol' | 'appProtocol' | 'port name' | 'well-known port' | 'detected';

export interface ProtocolDecision {
  protocol: ResolvedProtocol;
  source: ProtocolSource;
}

/** Speaks HTTP (an HTTP connection manager in front of it), as opposed to opaque bytes. */
export function isHttpProtocol(p: ResolvedProtocol): p is 'http' | 'http2' | 'grpc' {
  return p === 'http' || p === 'http2' || p === 'grpc';
}

/** Kubernetes `appProtocol` values (IANA names, `kubernetes.io/*`, and common custom ones). */
const APP_PROTOCOLS: Record<string, PortProtocol> = {
  http: 'http',
  'kubernetes.io/ws': 'http',
  'kubernetes.io/h2c': 'http2',
  h2c: 'http2',
  http2: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  https: 'tls',
  'kubernetes.io/wss': 'tls',
  tls: 'tls',
  tcp: 'tcp',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
  postgres: 'tcp',
  postgresql: 'tcp',
};

/** Port-name prefixes (Istio's list, `<protocol>[-<suffix>]`). */
const NAME_PREFIXES: Record<string, PortProtocol> = {
  http: 'http',
  http2: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  https: 'tls',
  tls: 'tls',
  tcp: 'tcp',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
};

/**
 * Ports of server-first or binary protocols, opaque by default: SMTP (25, 587), MySQL (3306),
 * Galera (4444), PostgreSQL (5432), Redis (6379), Elasticsearch transport (9300), memcached
 * (11211) — Linkerd's default list — and ZooKeeper (2181), Cassandra (9042), Kafka (9092),
 * MongoDB (27017).
 */
export const OPAQUE_PORTS: ReadonlySet<number> = new Set([25, 587, 3306, 4444, 5432, 6379, 9300, 11211, 2181, 9042, 9092, 27017]);

export function protocolOfAppProtocol(appProtocol: string): PortProtocol | undefined {
  return APP_PROTOCOLS[appProtocol.trim().toLowerCase()];
}

export function protocolOfPortName(name: string): PortProtocol | undefined {
  const lower = name.toLowerCase();
  // grpc-web before grpc: the longest prefix wins.
  if (lower === 'grpc-web' || lower.startsWith('grpc-web-')) return NAME_PREFIXES['grpc-web'];
  const dash = lower.indexOf('-');
  return NAME_PREFIXES[dash < 0 ? lower : lower.slice(0, dash)];
}

export interface PortFacts {
  port: number;
  /** The `port-protocol` setting for this port, if any. */
  setting?: PortProtocol;
  /** appProtocol of the Service ports that reach it. */
  appProtocols: string[];
  /** Names of the Service ports that reach it and of the container port. */
  names: string[];
}

export function resolveProtocol(facts: PortFacts): ProtocolDecision {
  if (facts.setting) return { protocol: facts.setting, source: 'port-protocol' };
  for (const a of facts.appProtocols) {
    const p = protocolOfAppProtocol(a);
    if (p) return { protocol: p, source: 'appProtocol' };
  }
  for (const n of facts.names) {
    const p = protocolOfPortName(n);
    if (p) return { protocol: p, source: 'port name' };
  }
  if (OPAQUE_PORTS.has(facts.port)) return { protocol: 'tcp', source: 'well-known port' };
  return { protocol: 'detect', source: 'detected' };
}

/** `9090=grpc`: one entry of the port-protocol setting. */
export function parsePortProtocol(raw: string): { port: number; protocol: PortProtocol } {
  const match = /^\s*(\d{1,5})\s*=\s*([a-z0-9]+)\s*$/.exec(raw);
  if (!match) throw new Error(`"${raw}" is not PORT=PROTOCOL (PROTOCOL: ${PORT_PROTOCOLS.join(', ')})`);
  const port = Number(match[1]);
  if (port < 1 || port > 65535) throw new Error(`${port} is not a port number (1-65535)`);
  const protocol = match[2] as PortProtocol;
  if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) throw new Error(`"${match[2]}" is not one of ${PORT_PROTOCOLS.join(', ')}`);
  return { port, protocol };
}
