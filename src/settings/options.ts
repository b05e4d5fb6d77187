/**
 * Every setting defined once: its key (also the profile key and the `sidecarctl.io/<key>` annotation),
 * its flag, help text, parser and JSON Schema. The CLI, the profile reader, the annotation reader and
 * the profile's JSON Schema are all generated from this table, so they cannot drift apart.
 */
import { logDirectory } from './log-path.js';
import { parsePortProtocol, PORT_PROTOCOLS } from '../model/protocols.js';
import type { LogOutput, Settings, Upstream, UpstreamMtls } from './types.js';
import { isDnsLabel, isDnsSubdomain, parseDuration, parseInteger, parsePort } from '../units.js';

type JsonSchema = Record<string, unknown>;

export interface OptionDef {
  /** Profile key and annotation suffix, kebab-case like the flag. */
  key: string;
  /** Commander flag spec, e.g. `--retries <n>`. */
  flag: string;
  description: string;
  /** Default shown in help; the real defaults live in DEFAULT_SETTINGS. */
  defaultText?: string;
  /** May be given several times (flag repeated, YAML list, comma-separated annotation). */
  repeatable?: boolean;
  schema: JsonSchema;
  /** Parse one raw value (a flag's text, an annotation's text or a profile scalar) into `settings`. */
  apply(settings: Settings, raw: string | boolean | number): void;
}

export const DEFAULT_SETTINGS: Settings = {
  proxy: 'envoy',
  logging: 'none',
  logPath: '/var/log/app/*.log',
  logMultiline: 'none',
  logOutput: { kind: 'stdout' },
  mtls: 'off',
  allowPeers: [],
  trustDomain: 'cluster.local',
  retries: 0,
  retryOn: ['5xx', 'reset', 'connect-failure', 'refused-stream'],
  upstreams: [],
  upstreamMtls: [],
  portProtocols: [],
  publicMtls: 'edge',
  proxyPort: 15006,
  adminPort: 15000,
  nativeSidecar: true,
};

function oneOf<T extends string>(values: readonly T[], raw: string | boolean | number): T {
  const text = String(raw);
  if (!(values as readonly string[]).includes(text)) throw new Error(`"${text}" is not one of ${values.join(', ')}`);
  return text as T;
}

function text(raw: string | boolean | number): string {
  return String(raw).trim();
}

function bool(raw: string | boolean | number): boolean {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`"${String(raw)}" is not true or false`);
}

export function parseLogOutput(raw: string): LogOutput {
  if (raw === 'stdout') return { kind: 'stdout' };
  const match = /^(forward|es|loki):\/\/([A-Za-z0-9.-]+):(\d+)$/.exec(raw);
  if (!match) throw new Error(`"${raw}" is not stdout, forward://host:port, es://host:port or loki://host:port`);
  return { kind: match[1] as 'forward' | 'es' | 'loki', host: match[2]!, port: parsePort(match[3]!) };
}

/**
 * `name=[scheme://]host:port[@localPort]` (local port defaults to the remote port); the scheme says
 * what the upstream speaks: http (default), http2, grpc or tcp.
 */
export function parseUpstream(raw: string): Upstream {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(?:(http|http2|grpc|tcp):\/\/)?([A-Za-z0-9.-]+):(\d+)(?:@(\d+))?$/.exec(raw.trim());
  if (!match) throw new Error(`"${raw}" is not NAME=[http|http2|grpc|tcp://]HOST:PORT[@LOCALPORT] (NAME a lowercase DNS label)`);
  const port = parsePort(match[5]!);
  const protocol = (match[3] ?? 'http') as Upstream['protocol'];
  return { name: match[1]!, protocol, host: match[4]!, port, localPort: match[6] ? parsePort(match[6]) : port };
}

/** A peer identity as users write it: a SPIFFE URI, `namespace/serviceaccount`, or a service account of the workload's namespace. */
export type PeerId = { spiffe: string } | { namespace?: string; serviceAccount: string };

export function parsePeerId(raw: string): PeerId {
  const text = raw.trim();
  if (text.startsWith('spiffe://')) {
    const match = /^spiffe:\/\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.exec(text);
    if (!match) throw new Error(`"${text}" is not a SPIFFE ID (spiffe://TRUST-DOMAIN/PATH, e.g. spiffe://cluster.local/ns/shop/sa/web)`);
    return { spiffe: text };
  }
  const parts = text.split('/');
  const [namespace, serviceAccount] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (parts.length > 2 || (namespace !== undefined && !isDnsLabel(namespace)) || !serviceAccount || !isDnsSubdomain(serviceAccount)) {
    throw new Error(`"${text}" is not a peer identity: give spiffe://..., NAMESPACE/SERVICEACCOUNT or SERVICEACCOUNT`);
  }
  return namespace === undefined ? { serviceAccount } : { namespace, serviceAccount };
}

/** `NAME` or `NAME=IDENTITY` (IDENTITY as for --allow-peer). */
export function parseUpstreamMtls(raw: string): UpstreamMtls {
  const [name, identity] = raw.trim().split(/=(.*)/s, 2) as [string, string | undefined];
  if (!isDnsLabel(name)) throw new Error(`"${raw}" is not NAME or NAME=IDENTITY (NAME of an --upstream)`);
  if (identity === undefined) return { name };
  parsePeerId(identity);
  return { name, identity: identity.trim() };
}

/** The placeholder --mtls-secret may use for the workload's name, e.g. `{workload}-sidecarctl-mtls`. */
export const WORKLOAD_PLACEHOLDER = '{workload}';

function positive(raw: string | boolean | number): number {
  return parseInteger(String(raw), 1);
}

const portSchema = { type: 'integer', minimum: 1, maximum: 65535 };
const durationSchema = { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h))+$' };

export const OPTIONS: OptionDef[] = [
  {
    key: 'proxy', flag: '--proxy <kind>', description: 'proxy sidecar: envoy, bundled or none', defaultText: 'envoy',
    schema: { enum: ['envoy', 'bundled', 'none'] },
    apply: (s, raw) => { s.proxy = oneOf(['envoy', 'bundled', 'none'], raw); },
  },
  {
    key: 'proxy-image', flag: '--proxy-image <image>', description: 'image for the bundled proxy (default: the official Node.js image running the bundle from a ConfigMap)',
    schema: { type: 'string', minLength: 1 },
    apply: (s, raw) => { s.proxyImage = text(raw); },
  },
  {
    key: 'logging', flag: '--logging <agent>', description: 'log shipper sidecar: fluent-bit, fluentd or none', defaultText: 'none',
    schema: { enum: ['fluent-bit', 'fluentd', 'none'] },
    apply: (s, raw) => { s.logging = oneOf(['fluent-bit', 'fluentd', 'none'], raw); },
  },
  {
    key: 'log-multiline', flag: '--log-multiline <language>', description: "join a stack trace's lines into one record with the agent's own multiline parser: java, go, python, or none", defaultText: 'none',
    schema: { enum: ['none', 'java', 'go', 'python'] },
    apply: (s, raw) => { s.logMultiline = oneOf(['none', 'java', 'go', 'python'], raw); },
  },
  {
    key: 'log-path', flag: '--log-path <glob>', description: 'app log files the shipper tails', defaultText: '/var/log/app/*.log',
    schema: { type: 'string', pattern: '^/' },
    apply: (s, raw) => {
      const path = text(raw);
      if (!path.startsWith('/') || path.endsWith('/')) throw new Error(`"${path}" must be an absolute file glob like /var/log/app/*.log`);
      logDirectory(path);
      s.logPath = path;
    },
  },
  {
    key: 'log-output', flag: '--log-output <url>', description: 'stdout, forward://host:port, es://host:port or loki://host:port', defaultText: 'stdout',
    schema: { type: 'string', pattern: '^(stdout|(forward|es|loki)://[A-Za-z0-9.-]+:\\d+)$' },
    apply: (s, raw) => { s.logOutput = parseLogOutput(text(raw)); },
  },
  {
    key: 'mtls', flag: '--mtls <mode>', description: 'inbound mTLS: off, permissive or strict', defaultText: 'off',
    schema: { enum: ['off', 'permissive', 'strict'] },
    apply: (s, raw) => { s.mtls = oneOf(['off', 'permissive', 'strict'], raw); },
  },
  {
    key: 'mtls-issuer', flag: '--mtls-issuer <name>', description: 'cert-manager issuer for a Certificate per workload (ClusterIssuer: prefix with clusterissuer/)',
    schema: { type: 'string', minLength: 1 },
    apply: (s, raw) => {
      const name = text(raw).replace(/^(clusterissuer|issuer)\//i, '');
      if (!isDnsSubdomain(name)) throw new Error(`"${text(raw)}" is not a valid issuer name (lowercase DNS subdomain)`);
      s.mtlsIssuer = text(raw);
    },
  },
  {
    key: 'mtls-secret', flag: '--mtls-secret <name>',
    description: `existing kubernetes.io/tls Secret with ca.crt; ${WORKLOAD_PLACEHOLDER} stands for the workload's name (sidecarctl certs makes ${WORKLOAD_PLACEHOLDER}-sidecarctl-mtls)`,
    schema: { type: 'string', minLength: 1 },
    apply: (s, raw) => {
      if (!isDnsSubdomain(text(raw).replaceAll(WORKLOAD_PLACEHOLDER, 'w'))) throw new Error(`"${text(raw)}" is not a valid Secret name (lowercase DNS subdomain, may contain ${WORKLOAD_PLACEHOLDER})`);
      s.mtlsSecret = text(raw);
    },
  },
  {
    key: 'allow-peer', flag: '--allow-peer <id>', repeatable: true, description: 'with mTLS: allowed client identity (spiffe://... URI or service-account name, ns/sa)',
    schema: { type: 'array', items: { type: 'string', minLength: 1 } },
    apply: (s, raw) => {
      parsePeerId(text(raw));
      s.allowPeers = [...s.allowPeers, text(raw)];
    },
  },
  {
    key: 'trust-domain', flag: '--trust-domain <domain>', description: 'SPIFFE trust domain of workload identities', defaultText: 'cluster.local',
    schema: { type: 'string', minLength: 1 },
    apply: (s, raw) => {
      if (!isDnsSubdomain(text(raw))) throw new Error(`"${text(raw)}" is not a valid trust domain`);
      s.trustDomain = text(raw);
    },
  },
  {
    key: 'retries', flag: '--retries <n>', description: 'retry attempts per request (0: off)', defaultText: '0',
    schema: { type: 'integer', minimum: 0, maximum: 10 },
    apply: (s, raw) => {
      const n = parseInteger(String(raw), 0);
      if (n > 10) throw new Error(`${n} retries is too many (at most 10)`);
      s.retries = n;
    },
  },
  {
    key: 'retry-on', flag: '--retry-on <list>', description: 'comma-separated retry conditions', defaultText: '5xx,reset,connect-failure,refused-stream',
    schema: { type: 'string', pattern: '^[a-z0-9-]+(,[a-z0-9-]+)*$' },
    apply: (s, raw) => {
      const known = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'refused-stream', 'retriable-4xx', 'retriable-status-codes', 'envoy-ratelimited', 'http3-post-connect-failure'];
      const list = text(raw).split(',').map((c) => c.trim()).filter(Boolean);
      for (const c of list) if (!known.includes(c)) throw new Error(`unknown retry condition "${c}" (known: ${known.join(', ')})`);
      if (list.length === 0) throw new Error('empty retry condition list');
      s.retryOn = list;
    },
  },
  {
    key: 'per-try-timeout', flag: '--per-try-timeout <duration>', description: 'timeout of each try, e.g. 250ms',
    schema: durationSchema,
    apply: (s, raw) => { s.perTryTimeoutMs = parseDuration(String(raw)); },
  },
  {
    key: 'timeout', flag: '--timeout <duration>', description: 'overall request timeout including retries, e.g. 2s (default: none)',
    schema: durationSchema,
    apply: (s, raw) => { s.timeoutMs = parseDuration(String(raw)); },
  },
  {
    key: 'rate-limit', flag: '--rate-limit <rps>', description: 'inbound requests per second (token bucket); excess gets 429',
    schema: { type: 'integer', minimum: 1 },
    apply: (s, raw) => { s.rateLimit = positive(raw); },
  },
  {
    key: 'burst', flag: '--burst <n>', description: 'token bucket size (default: the rate)',
    schema: { type: 'integer', minimum: 1 },
    apply: (s, raw) => { s.burst = positive(raw); },
  },
  {
    key: 'upstream', flag: '--upstream <name=host:port>', repeatable: true, description: 'outbound route: the app calls 127.0.0.1:PORT (or @LOCALPORT), the proxy applies retries, timeouts and mTLS; grpc://, http2:// or tcp:// before the host for upstreams that speak those',
    schema: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?=((http|http2|grpc|tcp)://)?[A-Za-z0-9.-]+:\\d+(@\\d+)?$' } },
    apply: (s, raw) => {
      const upstream = parseUpstream(text(raw));
      if (s.upstreams.some((u) => u.name === upstream.name)) throw new Error(`upstream "${upstream.name}" is given twice`);
      s.upstreams = [...s.upstreams, upstream];
    },
  },
  {
    key: 'upstream-mtls', flag: '--upstream-mtls <name[=id]>', repeatable: true,
    description: "call this --upstream with mTLS: the workload's certificate, the server verified against the CA and in the trust domain (=ID: exactly this spiffe://... or ns/sa)",
    schema: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(=.+)?$' } },
    apply: (s, raw) => {
      const entry = parseUpstreamMtls(text(raw));
      if (s.upstreamMtls.some((u) => u.name === entry.name)) throw new Error(`upstream "${entry.name}" is given twice`);
      s.upstreamMtls = [...s.upstreamMtls, entry];
    },
  },
  {
    key: 'app-port', flag: '--app-port <port>', description: 'proxy only this app port (default: every TCP port of every app container)',
    schema: portSchema,
    apply: (s, raw) => { s.appPort = parsePort(String(raw)); },
  },
  {
    key: 'app-address', flag: '--app-address <address>', description: 'where the app listens and the proxy dials it: 127.0.0.1, or pod-ip for apps bound to status.podIP (detected from the downward API)', defaultText: '127.0.0.1',
    schema: { enum: ['127.0.0.1', 'pod-ip'] },
    apply: (s, raw) => { s.appAddress = oneOf(['127.0.0.1', 'pod-ip'] as const, raw); },
  },
  {
    key: 'network-policy', flag: '--network-policy', description: "a NetworkPolicy per workload that closes the app's own ports to other pods (only the proxy's ports stay open); input policies that select the pod are amended instead; --no-network-policy to leave policies alone", defaultText: 'true with --mtls strict',
    schema: { type: 'boolean' },
    apply: (s, raw) => { s.networkPolicy = bool(raw); },
  },
  {
    key: 'public-mtls', flag: '--public-mtls <mode>', description: 'under --mtls strict, ports of LoadBalancer/NodePort/externalIPs/Ingress-backend Services: edge (no client certificate; rate limit and access log kept) or permissive', defaultText: 'edge',
    schema: { enum: ['edge', 'permissive'] },
    apply: (s, raw) => { s.publicMtls = oneOf(['edge', 'permissive'], raw); },
  },
  {
    key: 'port-protocol', flag: '--port-protocol <port=protocol>', repeatable: true,
    description: `what an app port speaks: ${PORT_PROTOCOLS.join(', ')} (tls: passthrough, the app terminates TLS; skip: not proxied); otherwise from the Service's appProtocol, port names, well-known ports, else detected`,
    schema: { type: 'array', items: { type: 'string', pattern: `^\\d{1,5}=(${PORT_PROTOCOLS.join('|')})$` } },
    apply: (s, raw) => {
      const entry = parsePortProtocol(text(raw));
      if (s.portProtocols.some((p) => p.port === entry.port)) throw new Error(`port ${entry.port} is given twice`);
      s.portProtocols = [...s.portProtocols, entry];
    },
  },
  {
    key: 'proxy-port', flag: '--proxy-port <port>', description: 'the first proxy inbound listener (further app ports get the next free numbers)', defaultText: '15006',
    schema: portSchema,
    apply: (s, raw) => { s.proxyPort = parsePort(String(raw)); },
  },
  {
    key: 'admin-port', flag: '--admin-port <port>', description: 'proxy admin listener (Envoy: 127.0.0.1 only; bundled proxy: its read-only /metrics, /ready, /live on the pod IP)', defaultText: '15000',
    schema: portSchema,
    apply: (s, raw) => { s.adminPort = parsePort(String(raw)); },
  },
  {
    key: 'native-sidecar', flag: '--native-sidecar', description: 'sidecars as init containers with restartPolicy: Always (Kubernetes >= 1.29); --no-native-sidecar for plain containers', defaultText: 'true',
    schema: { type: 'boolean' },
    apply: (s, raw) => { s.nativeSidecar = bool(raw); },
  },
  {
    key: 'templates', flag: '--templates <dir>', description: 'directory of templates overriding the bundled ones (same file names)',
    schema: { type: 'string', minLength: 1 },
    apply: (s, raw) => { s.templates = text(raw); },
  },
];

export const OPTIONS_BY_KEY = new Map(OPTIONS.map((o) => [o.key, o]));

/** Name check used by other modules for ports we name in pods. */
export { isDnsLabel };
