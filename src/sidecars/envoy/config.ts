/** The Envoy bootstrap (envoy.yaml) of one workload: template data from settings, then the template. */
import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { renderYamlTemplate } from '../../templates.js';
import { protoDuration } from '../../units.js';
import type { Settings, Upstream } from '../../settings/types.js';
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

export interface EnvoyTemplateData {
  node: { id: string; cluster: string };
  adminPort: number;
  metricsPort: number;
  maxHeapBytes: number;
  /** The SDS secrets, when the workload has a certificate (inbound mTLS or mTLS to an upstream). */
  tls: TlsData | null;
  inbound: (RouteData & { port: number; appPort: number; rateLimit: TokenBucket | null; mtls: InboundMtls | null }) | null;
  upstreams: (RouteData & Upstream & { mtls: UpstreamMtlsData | null })[];
  /** Where a copy of each access log record goes, when a log shipper is injected too. */
  logShipper: { port: number; tag: string } | null;
}

export interface InboundMtls {
  mode: 'permissive' | 'strict';
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

export function envoyTemplateData(ctx: WorkloadContext): EnvoyTemplateData {
  const s = ctx.settings;
  const route = routeData(s);
  const source = certificateSource(ctx);
  const mtlsMode = s.mtls;
  return {
    node: { id: [ctx.namespace, ctx.name].filter(Boolean).join('.'), cluster: ctx.name },
    adminPort: s.adminPort,
    metricsPort: ENVOY_METRICS_PORT,
    // Leave room under the container memory limit for what the heap monitor does not see.
    maxHeapBytes: Math.floor(ENVOY_MEMORY_LIMIT_BYTES * 0.8),
    tls: source ? tlsData(ctx) : null,
    inbound:
      ctx.appPort === undefined
        ? null
        : {
            ...route,
            port: s.proxyPort,
            appPort: ctx.appPort,
            rateLimit: s.rateLimit ? tokenBucket(s.rateLimit, s.burst ?? s.rateLimit) : null,
            mtls: source && mtlsMode !== 'off' ? { mode: mtlsMode, permissive: mtlsMode === 'permissive', peers: sanMatchers(peerIdentities(ctx), s.trustDomain) } : null,
          },
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
