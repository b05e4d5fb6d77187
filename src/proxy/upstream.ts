/**
 * One upstream (a listener's target): its keep-alive connection pool, its circuit breaker and, for
 * TLS origination, its certificates.
 *
 * The pool (pool.ts) holds at most the breaker's maxConnections connections. On a certificate
 * rotation the pool is replaced: the old one is retired (idle connections closed at once, busy
 * ones when their request ends) so no in-flight request is cut.
 */
import http from 'node:http';
import https from 'node:https';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { CircuitBreaker } from './breaker.js';
import { speaksH2Upstream, type ResolvedListenerConfig } from './config.js';
import { H2Pool } from './h2pool.js';
import type { EventLog } from './log.js';
import type { Metrics, RouteMetrics } from './metrics.js';
import { Pool, type Call, type CallPool, type CallSink } from './pool.js';
import { CertificateSource, expectSans, MIN_TLS_VERSION, type TlsMaterial } from './tls.js';
import type { WatchOptions } from './watch.js';

/**
 * Idle pooled connections are closed after this long. Keeping it below common app-server
 * keep-alive timeouts (node: 5 s) avoids sending a request on a connection the server is closing
 * at the same moment (and forward.ts retries that race once for replayable requests).
 */
const MAX_POOL_IDLE_MS = 4000;

export interface UpstreamContext {
  log: EventLog;
  metrics: Metrics;
  watch?: WatchOptions;
}

export class Upstream {
  /** "host:port", the upstream label in metrics and logs. */
  readonly id: string;
  readonly breaker: CircuitBreaker;
  readonly metrics: RouteMetrics;
  private pool: CallPool;
  /** node's http(s).request: Upgrade requests use node's client, which handles the 101 handoff. */
  private readonly upgradeRequestFn: typeof http.request;

  private constructor(
    readonly config: ResolvedListenerConfig,
    private readonly certs: CertificateSource | null,
    metrics: RouteMetrics,
  ) {
    this.id = `${config.target.host}:${config.target.port}`;
    this.breaker = new CircuitBreaker({ ...config.circuitBreaker });
    this.metrics = metrics;
    this.metrics.circuitState = () => this.breaker.state;
    this.metrics.upstreamConnections = () => this.pool.connections;
    this.upgradeRequestFn = certs ? https.request : http.request;
    this.pool = this.createPool(certs?.material ?? null);
  }

  static async create(config: ResolvedListenerConfig, ctx: UpstreamContext): Promise<Upstream> {
    const tls = config.tls;
    const certs = tls ? await CertificateSource.open(tls, ctx.log, ctx.metrics) : null;
    const upstream = new Upstream(config, certs, ctx.metrics.route(config.name, `${config.target.host}:${config.target.port}`));
    certs?.watch((material) => upstream.replacePool(material), ctx.watch);
    return upstream;
  }

  /** True when `next` can keep using this pool (same target and TLS settings). */
  canServe(next: ResolvedListenerConfig): boolean {
    return (
      next.name === this.config.name &&
      speaksH2Upstream(next.protocol) === speaksH2Upstream(this.config.protocol) &&
      next.target.host === this.config.target.host &&
      next.target.port === this.config.target.port &&
      JSON.stringify(next.tls) === JSON.stringify(this.config.tls) &&
      next.limits.maxHeaderBytes === this.config.limits.maxHeaderBytes
    );
  }

  /** Applies new breaker limits in place (the pool reads them on every request). */
  updateLimits(next: ResolvedListenerConfig): void {
    this.breaker.limits = { ...next.circuitBreaker };
    this.pool.options.maxConnections = next.circuitBreaker.maxConnections;
  }

  /**
   * Sends one request. `body` is the whole body (null: streamed later with call.write/end,
   * chunked when `chunked`).
   */
  request(sink: CallSink, method: string, path: string, headers: string[], body: Buffer | null, chunked: boolean): Call {
    return this.pool.request(sink, method, path, headers, body, chunked);
  }

  /**
   * Starts an Upgrade request on a dedicated connection (an upgraded connection never returns to
   * a pool), with node's client.
   */
  upgradeRequest(method: string, path: string, headers: string[]): http.ClientRequest {
    return this.upgradeRequestFn({
      host: this.config.target.host,
      port: this.config.target.port,
      agent: false,
      maxHeaderSize: this.config.limits.maxHeaderBytes,
      ...this.tlsOptions(this.certs?.material ?? null),
      method,
      path,
      headers: headers as unknown as http.OutgoingHttpHeaders, // node accepts a flat raw array
    });
  }

  /** Stops using this upstream: idle connections close now, busy ones after their request. */
  retire(): void {
    this.certs?.close();
    this.metrics.circuitState = null;
    this.metrics.upstreamConnections = null;
    this.pool.retire();
  }

  /** Closes every pooled connection (end of shutdown). */
  destroy(): void {
    this.certs?.close();
    this.pool.destroy();
  }

  /** HTTP/2 sessions for apps that speak it (http2, grpc), else HTTP/1.1 keep-alive connections. */
  private createPool(material: TlsMaterial | null): CallPool {
    const options = {
      host: this.config.target.host,
      port: this.config.target.port,
      tls: material ? (this.tlsOptions(material) as ConnectionOptions) : null,
      maxConnections: this.config.circuitBreaker.maxConnections,
      idleMs: Math.min(this.config.timeouts.idleMs, MAX_POOL_IDLE_MS),
      maxHeaderBytes: this.config.limits.maxHeaderBytes,
    };
    return speaksH2Upstream(this.config.protocol) ? new H2Pool(options) : new Pool(options);
  }

  private tlsOptions(material: TlsMaterial | null): https.AgentOptions {
    const tls = this.config.tls;
    if (!tls || !material) return {};
    const options: https.AgentOptions = {
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      minVersion: MIN_TLS_VERSION,
      rejectUnauthorized: true,
    };
    // Only set what applies: tls.connect treats an explicit `undefined` as a value.
    if (!isIpLiteral(tls.serverName)) options.servername = tls.serverName;
    if (tls.expectedSan.length > 0) options.checkServerIdentity = expectSans(tls.expectedSan);
    else if (tls.serverName !== this.config.target.host) {
      // The certificate is checked against serverName, not the address connected to.
      options.checkServerIdentity = (_host, cert) => checkServerIdentity(tls.serverName, cert);
    }
    return options;
  }

  private replacePool(material: TlsMaterial): void {
    const old = this.pool;
    this.pool = this.createPool(material);
    old.retire();
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
