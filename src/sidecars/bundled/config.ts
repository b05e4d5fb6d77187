/**
 * The bundled proxy's config (proxy.json) of one workload, from the same settings as Envoy's.
 * The file format is the proxy's own (`ProxyConfig` in src/proxy/config.ts); the result is checked
 * with the proxy's own validator, so a config inject writes is one the proxy starts with.
 */
import { UserError } from '../../errors.js';
import { resolveConfig, type InboundListenerConfig, type OriginationTlsConfig, type ProxyConfig, type RetriesConfig, type RetryCondition } from '../../proxy/config.js';
import { carriedAs, proxiedPorts } from '../../model/ports.js';
import type { Settings } from '../../settings/types.js';
import { certificateSource, peerIdentities, trustDomainPrefix, upstreamIdentity, type CertificateSource } from '../mtls/index.js';
import { drainSeconds } from '../hardening.js';
import { listenerMtls } from '../../network/public.js';
import { PROXY_JSON_LOG_PORT } from '../logging/proxy-log.js';
import type { WorkloadContext } from '../types.js';

export const PROXY_CONFIG_FILE = 'proxy.json';

/**
 * Envoy's retry_on names (the settings' vocabulary) as the proxy's conditions. `refused-stream`
 * needs no condition: the proxy always sends a stream the app refused unprocessed once more.
 */
const RETRY_ON: Record<string, RetryCondition | null> = {
  '5xx': '5xx',
  'gateway-error': 'gateway-error',
  'connect-failure': 'connect-failure',
  reset: 'reset',
  'retriable-4xx': 'retriable-4xx',
  'refused-stream': null,
  'per-try-timeout': 'timeout',
  cancelled: 'cancelled',
  'deadline-exceeded': 'deadline-exceeded',
  'resource-exhausted': 'resource-exhausted',
  unavailable: 'unavailable',
};

/** gRPC ports also retry on the gRPC statuses Envoy retries there (its GRPC_RETRY_ON). */
const GRPC_RETRY_ON: RetryCondition[] = ['cancelled', 'deadline-exceeded', 'resource-exhausted', 'unavailable'];

function grpcRetries(retry: RetriesConfig): RetriesConfig {
  return { ...retry, retryOn: [...new Set([...(retry.retryOn ?? []), ...GRPC_RETRY_ON])] };
}

export function retryConditions(retryOn: string[]): RetryCondition[] {
  const out = new Set<RetryCondition>();
  for (const name of retryOn) {
    if (!(name in RETRY_ON)) {
      throw new UserError(`--retry-on ${name}: the bundled proxy retries on ${Object.keys(RETRY_ON).join(', ')}; use --proxy envoy for other conditions`);
    }
    const condition = RETRY_ON[name];
    if (condition) out.add(condition);
  }
  return [...out];
}

function retries(s: Settings): RetriesConfig | undefined {
  if (s.retries === 0) return undefined;
  return {
    // The proxy counts the first try; the flag counts retries.
    attempts: s.retries + 1,
    retryOn: retryConditions(s.retryOn),
    ...(s.perTryTimeoutMs ? { perTryTimeoutMs: s.perTryTimeoutMs } : {}),
    backoff: { baseMs: 25, maxMs: 250 },
    budget: { percent: 20, minConcurrency: 3 },
  };
}

function origination(ctx: WorkloadContext, source: CertificateSource | undefined, upstream: string): OriginationTlsConfig | undefined {
  if (!source || !ctx.settings.upstreamMtls.some((u) => u.name === upstream)) return undefined;
  const identity = upstreamIdentity(ctx, upstream);
  return {
    certFile: source.certFile,
    keyFile: source.keyFile,
    caFile: source.caFile,
    // Without a named identity, any workload of the trust domain with a certificate from the CA.
    expectedSan: [identity ?? `${trustDomainPrefix(ctx.settings.trustDomain)}*`],
  };
}

export function bundledProxyConfig(ctx: WorkloadContext): ProxyConfig {
  const s = ctx.settings;
  const source = certificateSource(ctx);
  const timeouts = s.timeoutMs ? { requestMs: s.timeoutMs } : undefined;
  const retry = retries(s);
  const config: ProxyConfig = {
    // The kubelet probes the pod's IP: its IPv6 one in an IPv6 cluster.
    admin: { port: s.adminPort, address: ctx.ports.some((p) => p.ipv6) ? '::' : '0.0.0.0' },
    // With a log shipper in the pod, a copy of each line goes to its JSON input too.
    accessLog: s.logging === 'none' ? { enabled: true } : { enabled: true, tcp: { host: '127.0.0.1', port: PROXY_JSON_LOG_PORT } },
    // Within the pod's grace period, as for Envoy.
    drainTimeoutMs: drainSeconds(ctx.podSpec) * 1000,
  };
  // One listener per proxied app port (the model only gives this proxy ports it can carry).
  const inbounds = proxiedPorts(ctx.ports).map((p, i): InboundListenerConfig => {
    // http, http2, grpc, tcp, tls passthrough, or detect (per connection: HTTP, else raw TCP).
    const carried = carriedAs(p);
    if (carried === 'skip') throw new Error(`the bundled proxy cannot carry ${carried} (port ${p.port})`);
    // A public port under strict mTLS: edge asks for no client certificate. The proxy's TLS always
    // asks for one, so its edge listener is plaintext (mode off: no mtls section).
    const mode = source && s.mtls !== 'off' ? listenerMtls(p, s.mtls, s) : 'off';
    return {
      ...(i === 0 ? {} : { name: `inbound-${p.port}` }),
      protocol: carried,
      port: p.listener,
      // An IPv6 or dual-stack Service sends here: :: takes IPv6 and IPv4 alike.
      address: p.ipv6 ? '::' : '0.0.0.0',
      target: { host: '127.0.0.1', port: p.port },
      ...(s.rateLimit ? { rateLimit: { rps: s.rateLimit, burst: s.burst ?? s.rateLimit } } : {}),
      ...(timeouts ? { timeouts } : {}),
      // Opaque bytes cannot be replayed: retries are for HTTP listeners only.
      ...(retry && carried !== 'tcp' && carried !== 'tls' ? { retries: carried === 'grpc' ? grpcRetries(retry) : retry } : {}),
      ...(source && mode !== 'off' && mode !== 'edge'
        ? { mtls: { mode, certFile: source.certFile, keyFile: source.keyFile, caFile: source.caFile, allowedPeers: peerIdentities(ctx) } }
        : {}),
    };
  });
  // A single listener keeps the plain object form.
  if (inbounds.length === 1) config.inbound = inbounds[0]!;
  else if (inbounds.length > 1) config.inbound = inbounds;
  config.outbound = s.upstreams.map((u) => {
    const tls = origination(ctx, source, u.name);
    const tcp = u.protocol === 'tcp';
    if (tcp && tls) throw new UserError(`--upstream-mtls ${u.name}: the bundled proxy originates TLS for HTTP upstreams only, and ${u.name} is tcp://; use --proxy envoy`);
    return {
      name: u.name,
      ...(u.protocol === 'http' ? {} : { protocol: u.protocol }),
      port: u.localPort,
      address: '127.0.0.1',
      target: { host: u.host, port: u.port },
      ...(timeouts ? { timeouts } : {}),
      // Opaque bytes cannot be replayed; gRPC upstreams retry on gRPC's statuses too.
      ...(retry && !tcp ? { retries: u.protocol === 'grpc' ? grpcRetries(retry) : retry } : {}),
      // Eject an upstream that keeps failing, as Envoy's outlier detection does.
      circuitBreaker: { consecutive5xx: 5, ejectionMs: 30_000 },
      ...(tls ? { tls } : {}),
    };
  });
  if (config.outbound.length === 0) delete config.outbound;
  return config;
}

/** proxy.json text; refused here (not in the pod) if the proxy would refuse it. */
export function renderBundledProxyConfig(ctx: WorkloadContext): string {
  const config = bundledProxyConfig(ctx);
  try {
    resolveConfig(config, PROXY_CONFIG_FILE);
  } catch (error) {
    throw new UserError(`the bundled proxy would refuse this config: ${(error as Error).message}`);
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}
