/** The Envoy bootstrap (envoy.yaml) of one workload: template data from settings, then the template. */
import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { renderYamlTemplate } from '../../templates.js';
import { protoDuration } from '../../units.js';
import type { Settings, Upstream } from '../../settings/types.js';
import { listenerMtls, type ListenerMtls } from '../../network/public.js';
import { POD_IP_HOST } from '../../network/addresses.js';
import { carriedAs, isHttpProtocol, proxiedPorts } from '../../model/ports.js';
import type { ResolvedProtocol } from '../../model/protocols.js';
import type { WorkloadContext } from '../types.js';
import { PROXY_LOG_PORT, PROXY_LOG_TAG } from '../logging/proxy-log.js';
import { certificateSource, peerIdentities, trustDomainPrefix, upstreamIdentity, type CertificateSource } from '../mtls/index.js';

export const ENVOY_CONFIG_FILE = 'envoy.yaml';
export const ENVOY_TEMPLATE = 'envoy.yaml.hbs';
/** Prometheus scrapes this port (the admin port stays on 127.0.0.1). */
export const ENVOY_METRICS_PORT = 15090;
export const ENVOY_MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;

interface RetryData {
  retryOn: string;
  numRetries: number;
  perTryTimeout: string | null;
}

interface RouteData {
  timeout: string;
  retry: RetryData | null;
}

/** Secrets come from files in the ConfigMap (file-based SDS), which point at the mounted certificate files. */
export const SDS_CERT_FILE = 'envoy-sds-cert.yaml';
export const SDS_CA_FILE = 'envoy-sds-ca.yaml';
export const SDS_CERT_SECRET = 'workload_certificate';
export const SDS_CA_SECRET = 'trusted_ca';

export interface SdsRef {
  /** Secret name inside the SDS file. */
  name: string;
  /** The SDS file (in the ConfigMap mount). */
  path: string;
  /** Kubernetes swaps a ConfigMap/Secret mount's `..data` link atomically: watch the directory for that move. */
  watchedDirectory: string;
}

/** A `SubjectAltNameMatcher` on the peer's URI SAN (SPIFFE ID). */
export interface SanMatcher {
  san_type: 'URI';
  matcher: { exact: string } | { prefix: string };
}

export interface TlsData {
  certificate: SdsRef;
  trustedCa: SdsRef;
}

/**
 * One filter chain of an inbound listener: what it matches (set by the TLS and HTTP inspectors),
 * whether it terminates mTLS, and what it runs: an HTTP connection manager or a TCP proxy.
 */
export interface FilterChainData {
  name: string;
  match: { transport_protocol?: 'tls' | 'raw_buffer'; application_protocols?: string[] } | null;
  /** Terminates TLS, with a client certificate required (unless `optionalClientCert`). */
  mtls: boolean;
  /** An edge chain: TLS without a client certificate (a public port under strict mTLS). */
  optionalClientCert?: boolean;
  /** HTTP connection manager; otherwise tcp_proxy. */
  http: boolean;
}

/** One inbound listener: an app port, with the protocol it speaks. */
export interface InboundListenerData extends RouteData {
  /** `inbound` for the first, `inbound_<appPort>` for the next (listener, stat prefix, route). */
  name: string;
  /** `app` for the first, `app_<appPort>` for the next. */
  cluster: string;
  port: number;
  /** `0.0.0.0`, or `::` (with IPv4 too: ipv4_compat) when an IPv6 or dual-stack Service reaches it. */
  address: string;
  ipv6: boolean;
  appPort: number;
  /** Where the app listens: 127.0.0.1 (STATIC), or the pod IP (a name the container's command fills in). */
  appHost: string;
  appDns: boolean;
  protocol: string;
  /** gRPC: gRPC retry conditions, stats, rate-limit answers and grpc-timeout. */
  grpc: boolean;
  /** Speak HTTP/2 to the app (http2 and grpc ports). */
  http2Upstream: boolean;
  tlsInspector: boolean;
  httpInspector: boolean;
  chains: FilterChainData[];
  /** HTTP chains only: the local token bucket. */
  rateLimit: TokenBucket | null;
  /** TCP chains: a connection rate limit (connections per second, token bucket). */
  connectionRateLimit: TokenBucket | null;
  mtls: InboundMtls | null;
}

export interface EnvoyTemplateData {
  node: { id: string; cluster: string };
  adminPort: number;
  metricsPort: number;
  /** The metrics listener's address: `::` when any listener is (the kubelet probes the pod's IPv6 address). */
  metricsAddress: string;
  maxHeapBytes: number;
  /** The SDS secrets, when the workload has a certificate (inbound mTLS or mTLS to an upstream). */
  tls: TlsData | null;
  /** Every proxied app port, in listener order. */
  inbounds: InboundListenerData[];
  /** The first of `inbounds` (templates written for one inbound listener keep working), or null. */
  inbound: InboundListenerData | null;
  upstreams: (RouteData & Upstream & { mtls: UpstreamMtlsData | null })[];
  /** Where a copy of each access log record goes, when a log shipper is injected too. */
  logShipper: { port: number; tag: string } | null;
}

export interface InboundMtls {
  mode: 'permissive' | 'strict' | 'edge';
  /** Plaintext clients are let in too, on a second filter chain. */
  permissive: boolean;
  /** Clients whose certificate matches one of these get in (and only with a certificate from the CA). */
  peers: SanMatcher[];
}

export interface UpstreamMtlsData {
  /** SNI for the server, unless the upstream is an IP address (SNI may not carry one). */
  sni: string | null;
  /** The server's certificate must match one of these. */
  peers: SanMatcher[];
}

export interface TokenBucket {
  maxTokens: number;
  tokensPerFill: number;
  fillInterval: string;
}

/**
 * A token bucket refilled smoothly: the shortest fill interval (Envoy's minimum is 50ms) that adds a
 * whole number of tokens, so 100 rps becomes 5 tokens every 50ms rather than 100 at each second.
 */
export function tokenBucket(rps: number, burst: number): TokenBucket {
  for (const ms of [50, 100, 200, 250, 500]) {
    const tokens = (rps * ms) / 1000;
    if (Number.isInteger(tokens) && tokens >= 1) return { maxTokens: burst, tokensPerFill: tokens, fillInterval: protoDuration(ms) };
  }
  return { maxTokens: burst, tokensPerFill: rps, fillInterval: '1s' };
}

function routeData(s: Settings): RouteData {
  return {
    // "0s" disables Envoy's 15s default: no timeout unless the user asks for one.
    timeout: s.timeoutMs ? protoDuration(s.timeoutMs) : '0s',
    retry:
      s.retries > 0
        ? { retryOn: s.retryOn.join(','), numRetries: s.retries, perTryTimeout: s.perTryTimeoutMs ? protoDuration(s.perTryTimeoutMs) : null }
        : null,
  };
}

function sanMatchers(exact: string[], trustDomain: string): SanMatcher[] {
  // No allow-list: any workload of the trust domain (the CA alone could also have signed other things).
  if (exact.length === 0) return [{ san_type: 'URI', matcher: { prefix: trustDomainPrefix(trustDomain) } }];
  return exact.map((id) => ({ san_type: 'URI', matcher: { exact: id } }));
}

function tlsData(ctx: WorkloadContext): TlsData {
  const sds = (name: string, file: string): SdsRef => ({ name, path: `${ctx.configDir}/${file}`, watchedDirectory: ctx.configDir });
  return { certificate: sds(SDS_CERT_SECRET, SDS_CERT_FILE), trustedCa: sds(SDS_CA_SECRET, SDS_CA_FILE) };
}

function upstreamMtls(ctx: WorkloadContext, u: Upstream): UpstreamMtlsData | null {
  if (!ctx.settings.upstreamMtls.some((m) => m.name === u.name)) return null;
  const identity = upstreamIdentity(ctx, u.name);
  return { sni: isIP(u.host) ? null : u.host, peers: sanMatchers(identity ? [identity] : [], ctx.settings.trustDomain) };
}

/** gRPC status conditions Envoy retries on (retry_on), for gRPC ports. */
const GRPC_RETRY_ON = ['cancelled', 'deadline-exceeded', 'resource-exhausted', 'unavailable'];

/**
 * The filter chains of a listener, from its protocol and the mTLS mode. Detected ports have an
 * HTTP chain (the HTTP inspector saw HTTP/1.1 or h2c, or TLS with ALPN h2/http/1.1) and a TCP
 * chain for the rest. TLS passthrough ports are never terminated: under strict mTLS they only
 * refuse plaintext (the TLS inspector must see a ClientHello).
 */
export function filterChains(protocol: ResolvedProtocol, mtls: ListenerMtls): FilterChainData[] {
  // Edge (a public port under strict mTLS): the permissive chains, with TLS that asks for no client
  // certificate; a client that shows one is still verified (and named to the app).
  if (mtls === 'edge') {
    return filterChains(protocol, 'permissive').map((c) => (c.mtls ? { ...c, name: c.name.replace(/^mtls/, 'edge_tls'), optionalClientCert: true } : c));
  }
  const http = isHttpProtocol(protocol);
  if (protocol === 'tls') {
    return mtls === 'strict' ? [{ name: 'tls_passthrough', match: { transport_protocol: 'tls' }, mtls: false, http: false }] : [{ name: 'tls_passthrough', match: null, mtls: false, http: false }];
  }
  const detect = protocol === 'detect';
  const plainChains = (): FilterChainData[] =>
    detect
      ? [
          { name: 'plaintext_http', match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, mtls: false, http: true },
          { name: 'plaintext_tcp', match: { transport_protocol: 'raw_buffer' }, mtls: false, http: false },
        ]
      : [{ name: 'plaintext', match: mtls === 'permissive' ? { transport_protocol: 'raw_buffer' } : null, mtls: false, http }];
  if (mtls === 'off') return plainChains().map((c) => (detect ? { ...c, match: { application_protocols: c.match?.application_protocols ?? [] } } : c)).map(dropEmptyMatch);
  const tlsChains: FilterChainData[] = detect
    ? [
        { name: 'mtls_http', match: { transport_protocol: 'tls', application_protocols: ['h2', 'http/1.1'] }, mtls: true, http: true },
        { name: 'mtls_tcp', match: { transport_protocol: 'tls' }, mtls: true, http: false },
      ]
    : [{ name: 'mtls', match: mtls === 'permissive' ? { transport_protocol: 'tls' } : null, mtls: true, http }];
  return mtls === 'permissive' ? [...tlsChains, ...plainChains()] : tlsChains;
}

function dropEmptyMatch(c: FilterChainData): FilterChainData {
  const m = c.match;
  return m && !m.transport_protocol && (!m.application_protocols || m.application_protocols.length === 0) ? { ...c, match: null } : c;
}

function inboundListeners(ctx: WorkloadContext, source: CertificateSource | undefined): InboundListenerData[] {
  const s = ctx.settings;
  const route = routeData(s);
  const mtls = source && s.mtls !== 'off' ? s.mtls : 'off';
  return proxiedPorts(ctx.ports).map((p, i) => {
    const protocol = carriedAs(p);
    const grpc = protocol === 'grpc';
    const mode = listenerMtls(p, mtls, s);
    const chains = filterChains(protocol, mode);
    const retry = route.retry && grpc ? { ...route.retry, retryOn: [...new Set([...route.retry.retryOn.split(','), ...GRPC_RETRY_ON])].join(',') } : route.retry;
    const bucket = s.rateLimit ? tokenBucket(s.rateLimit, s.burst ?? s.rateLimit) : null;
    return {
      ...route,
      retry,
      name: i === 0 ? 'inbound' : `inbound_${p.port}`,
      cluster: i === 0 ? 'app' : `app_${p.port}`,
      port: p.listener,
      address: p.ipv6 ? '::' : '0.0.0.0',
      ipv6: p.ipv6 === true,
      appPort: p.port,
      appHost: s.appAddress === 'pod-ip' ? POD_IP_HOST : '127.0.0.1',
      appDns: s.appAddress === 'pod-ip',
      protocol,
      grpc,
      http2Upstream: protocol === 'http2' || grpc,
      tlsInspector: chains.some((c) => c.match?.transport_protocol !== undefined),
      httpInspector: chains.some((c) => c.match?.transport_protocol !== 'tls' && c.match?.application_protocols !== undefined),
      chains,
      rateLimit: chains.some((c) => c.http) ? bucket : null,
      connectionRateLimit: chains.some((c) => !c.http) ? bucket : null,
      mtls: mode === 'off' ? null : { mode, permissive: mode !== 'strict', peers: sanMatchers(peerIdentities(ctx), s.trustDomain) },
    };
  });
}

export function envoyTemplateData(ctx: WorkloadContext): EnvoyTemplateData {
  const s = ctx.settings;
  const route = routeData(s);
  const source = certificateSource(ctx);
  const inbounds = inboundListeners(ctx, source);
  return {
    node: { id: [ctx.namespace, ctx.name].filter(Boolean).join('.'), cluster: ctx.name },
    adminPort: s.adminPort,
    metricsPort: ENVOY_METRICS_PORT,
    metricsAddress: inbounds.some((l) => l.ipv6) ? '::' : '0.0.0.0',
    // Leave room under the container memory limit for what the heap monitor does not see.
    maxHeapBytes: Math.floor(ENVOY_MEMORY_LIMIT_BYTES * 0.8),
    tls: source ? tlsData(ctx) : null,
    inbounds,
    inbound: inbounds[0] ?? null,
    upstreams: s.upstreams.map((u) => ({ ...u, ...route, mtls: source ? upstreamMtls(ctx, u) : null })),
    logShipper: s.logging === 'none' ? null : { port: PROXY_LOG_PORT, tag: PROXY_LOG_TAG },
  };
}

/**
 * The file-based SDS resources (DiscoveryResponse documents) for the ConfigMap: the workload's
 * certificate and the CA, read from the Secret mount and re-read whenever Kubernetes swaps it.
 */
export function sdsFiles(source: CertificateSource): Record<string, string> {
  const secret = (body: object) => ({ resources: [{ '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', ...body }] });
  const watched = { path: source.mountPath };
  return {
    [SDS_CERT_FILE]: stringify(
      secret({
        name: SDS_CERT_SECRET,
        tls_certificate: { certificate_chain: { filename: source.certFile }, private_key: { filename: source.keyFile }, watched_directory: watched },
      }),
    ),
    [SDS_CA_FILE]: stringify(secret({ name: SDS_CA_SECRET, validation_context: { trusted_ca: { filename: source.caFile }, watched_directory: watched } })),
  };
}

export function renderEnvoyConfig(ctx: WorkloadContext): { text: string; value: unknown } {
  return renderYamlTemplate(ENVOY_TEMPLATE, envoyTemplateData(ctx), ctx.settings.templates);
}
