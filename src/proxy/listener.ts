/**
 * A listener: one bound port (inbound, or one outbound upstream) and the HTTP servers behind it.
 *
 * Layout: a plain net.Server owns the port and hands each accepted socket to a "frontend"
 * (frontend.ts: our HTTP/1.1 server, or node's http/https servers), which never listens itself.
 * This split is what lets
 * - permissive mTLS serve TLS and plaintext on one port (peek at the first byte: 0x16 is a TLS
 *   handshake record, anything else is plaintext HTTP), and
 * - a config reload change the TLS mode or header limits without rebinding the port: new
 *   connections go to a new frontend while the old one finishes its requests.
 *
 * Settings that only matter per request (target, retries, rate limit, breaker limits, timeouts)
 * live in `route`, an immutable object swapped on reload: each request keeps the route it started
 * with, so in-flight requests are never affected by a reload.
 */
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AccessLog } from './accesslog.js';
import { isStreamProtocol, type MtlsMode, type ResolvedListenerConfig } from './config.js';
import { handleRequest, kExchange, type InboundRequest, type InboundResponse, type ListenerState, type Route } from './forward.js';
import { DetectFrontend } from './detect.js';
import { createFrontend, type Frontend, type FrontendHooks } from './frontend.js';
import { handleStream } from './h2forward.js';
import type { EventLog } from './log.js';
import type { ListenerMetrics, Metrics } from './metrics.js';
import { TokenBucket } from './ratelimit.js';
import { RetryBudget, RetryPolicy } from './retry.js';
import { CertificateSource, peerAllowed, type TlsMaterial } from './tls.js';
import { refuse, TcpFrontend, type TcpHost } from './tcp.js';
import { handleUpgrade } from './upgrade.js';
import { Upstream } from './upstream.js';
import type { WatchOptions } from './watch.js';

export interface ListenerContext {
  log: EventLog;
  metrics: Metrics;
  accessLog: AccessLog;
  watch?: WatchOptions;
}

export interface PreparedUpdate {
  commit(): void;
  abort(): void;
}

const FIRST_TLS_BYTE = 0x16; // TLS record type "handshake"
const DRAIN_POLL_MS = 100;
/**
 * Permissive mTLS on a tcp/tls listener: a client silent this long is taken to be plaintext (a
 * server-first protocol such as MySQL or Redis' greeting-less clients wait for the server).
 */
const SERVER_FIRST_WAIT_MS = 300;
/** How long a connection of a frontend replaced by a reload may stay idle before it is closed. */
const RELOAD_IDLE_GRACE_MS = 1000;

export class Listener implements ListenerState, TcpHost {
  readonly name: string;
  readonly budget = new RetryBudget();
  readonly metrics: ListenerMetrics;
  readonly accessLog: AccessLog;
  draining = false;
  route: Route;

  private frontend: Frontend;
  /** Frontends replaced by a reload, still finishing their connections. */
  private readonly retired: Frontend[] = [];
  private certs: CertificateSource | null;
  private readonly server: net.Server;
  private readonly sockets = new Set<Socket>();
  private readonly hooks: FrontendHooks = {
    onRequest: (req: InboundRequest, res: InboundResponse) => handleRequest(this, req, res),
    onUpgrade: (req: InboundRequest, socket: Duplex, head: Buffer) => handleUpgrade(this, req, socket, head),
    onStream: (stream, headers, endStream, rawHeaders) => handleStream(this, stream, headers, endStream, rawHeaders),
    checkPeer: (socket: TLSSocket) => this.checkPeer(socket),
    onIdle: onIdleTimeout,
  };

  private constructor(
    route: Route,
    certs: CertificateSource | null,
    private readonly ctx: ListenerContext,
  ) {
    this.name = route.config.name;
    this.route = route;
    this.certs = certs;
    this.metrics = ctx.metrics.listener(this.name);
    this.metrics.activeRequests = () => this.budget.activeRequests;
    this.accessLog = ctx.accessLog;
    this.frontend = this.newFrontend(route.config, certs?.material ?? null);
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onConnection(socket));
  }

  /** Creates the listener and binds its port. */
  static async start(config: ResolvedListenerConfig, ctx: ListenerContext): Promise<Listener> {
    const route = await buildRoute(config, null, ctx);
    let certs: CertificateSource | null = null;
    try {
      certs = config.mtls ? await CertificateSource.open(config.mtls, ctx.log, ctx.metrics) : null;
      const listener = new Listener(route, certs, ctx);
      await listener.listen(config.address, config.port);
      certs?.watch((m) => listener.useCertificates(m), ctx.watch);
      return listener;
    } catch (err) {
      certs?.close();
      route.upstream.destroy();
      throw err;
    }
  }

  /** The port actually bound (differs from the config when it asked for port 0). */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get config(): ResolvedListenerConfig {
    return this.route.config;
  }

  /**
   * Whether `next` can be applied to this listener in place: same address, and the same port (or
   * the port this listener actually got when the config asked for an ephemeral one).
   */
  sameBinding(next: ResolvedListenerConfig): boolean {
    return next.address === this.config.address && (next.port === this.config.port || next.port === this.port);
  }

  /**
   * Prepares a new config for the same address and port: everything that can fail (certificate
   * files, a new upstream's certificates) happens here, nothing changes until commit(). After the
   * commit new requests use the new config; requests in flight finish with the settings they
   * started with.
   */
  async prepareUpdate(next: ResolvedListenerConfig): Promise<PreparedUpdate> {
    const previous = this.route;
    const route = await buildRoute(next, previous, this.ctx);
    const newUpstream = route.upstream !== previous.upstream;
    let certs: CertificateSource | null = null;
    try {
      if (next.mtls) {
        certs = this.certs && this.certs.sameFiles(next.mtls) ? this.certs : await CertificateSource.open(next.mtls, this.ctx.log, this.ctx.metrics);
      }
    } catch (err) {
      if (newUpstream) route.upstream.destroy();
      throw err;
    }
    return {
      commit: () => {
        this.useConfig(route, certs);
        if (newUpstream) previous.upstream.retire();
      },
      abort: () => {
        if (newUpstream) route.upstream.destroy();
        if (certs !== this.certs) certs?.close();
      },
    };
  }

  private useConfig(route: Route, certs: CertificateSource | null): void {
    const next = route.config;
    const fe = this.frontend;
    const mode: MtlsMode = next.mtls?.mode ?? 'off';
    if (mode !== fe.mode || next.protocol !== fe.protocol || next.limits.maxHeaderBytes !== fe.maxHeaderBytes) {
      // Fixed at server creation: new connections go to a new frontend, the old one winds down.
      this.frontend = this.newFrontend(next, certs?.material ?? null);
      // Connections of the old frontend finish their requests and close after their next
      // response, or once idle for a moment (closing one under a request on the wire would lose
      // it). Except when plaintext is now refused: those connections close at once.
      if (mode === 'strict' && fe.mode !== 'strict') {
        fe.retire();
        fe.closePlaintext?.();
      } else fe.retire(RELOAD_IDLE_GRACE_MS);
      this.retired.push(fe);
    } else {
      fe.update(next);
      if (certs && certs !== this.certs) this.useCertificates(certs.material);
    }
    if (certs !== this.certs) {
      this.certs?.close();
      this.certs = certs;
      certs?.watch((m) => this.useCertificates(m), this.ctx.watch);
    }
    this.route = route;
  }

  /**
   * Graceful stop: no new connections, responses ask clients to close, idle keep-alive
   * connections are closed, and whatever is still open at `deadline` (performance.now() time) is
   * destroyed. Resolves when every connection is gone.
   */
  async drain(deadline: number): Promise<void> {
    this.draining = true;
    this.server.close();
    this.frontend.retire();
    const frontends = [this.frontend, ...this.retired];
    while (this.sockets.size > 0 && performance.now() < deadline) {
      for (const fe of frontends) fe.closeIdleConnections();
      await new Promise((r) => setTimeout(r, Math.min(DRAIN_POLL_MS, Math.max(1, deadline - performance.now()))));
    }
    // Frontends first: tcp connections still open are cut with the reason `drain`.
    for (const fe of frontends) fe.close();
    for (const socket of this.sockets) socket.destroy();
    this.certs?.close();
    this.route.upstream.destroy();
  }

  private newFrontend(config: ResolvedListenerConfig, material: TlsMaterial | null): Frontend {
    if (isStreamProtocol(config.protocol)) return new TcpFrontend(config, material, this.hooks, this);
    if (config.protocol === 'detect') return new DetectFrontend(config, material, this.hooks, this);
    return createFrontend(config, material, this.hooks);
  }

  private listen(address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address, port, exclusive: true }, () => {
        this.server.removeListener('error', reject);
        this.server.on('error', (err) => this.ctx.log('error', 'listener error', { listener: this.name, error: String(err) }));
        resolve();
      });
    });
  }

  private onConnection(socket: Socket): void {
    const metrics = this.metrics;
    this.sockets.add(socket);
    metrics.connectionsTotal++;
    metrics.activeConnections++;
    socket.on('close', () => {
      this.sockets.delete(socket);
      metrics.activeConnections--;
    });
    const fe = this.frontend;
    if (isStreamProtocol(fe.protocol) && !this.admitConnection(socket)) return;
    if (fe.mode === 'off') fe.plain(socket);
    else if (fe.mode === 'strict') fe.secure(socket);
    else this.sniff(socket, fe);
  }

  /**
   * tcp/tls listeners, at accept time: `rateLimit` is new connections per second and
   * `circuitBreaker.maxConnections` caps the open ones; the excess is closed at once.
   */
  private admitConnection(socket: Socket): boolean {
    const { limiter, config } = this.route;
    const started = performance.now();
    if (this.metrics.activeConnections > config.circuitBreaker.maxConnections) {
      refuse(this, socket, 'max-connections', started);
      return false;
    }
    if (limiter && limiter.take(started) > 0) {
      this.metrics.rateLimited++;
      refuse(this, socket, 'rate-limited', started);
      return false;
    }
    return true;
  }

  /** Permissive mode: read the first chunk, then hand the socket to the TLS or the plain server. */
  private sniff(socket: Socket, fe: Frontend): void {
    // A silent client of a tcp/tls listener may be waiting for a server-first greeting: plaintext.
    const serverFirst = isStreamProtocol(fe.protocol) || fe.protocol === 'detect';
    const onTimeout = () => {
      if (!serverFirst) return socket.destroy();
      socket.removeListener('error', onError);
      socket.removeListener('data', onData);
      fe.plain(socket);
    };
    const timer = setTimeout(onTimeout, serverFirst ? SERVER_FIRST_WAIT_MS : this.config.timeouts.headersMs);
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const onData = (chunk: Buffer) => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === FIRST_TLS_BYTE) {
        // The TLS socket takes over the stream and first drains what is buffered in it.
        fe.secure(socket);
      } else {
        fe.plain(socket);
        socket.resume(); // delivers the unshifted chunk to the HTTP parser
      }
    };
    socket.once('data', onData);
    socket.once('close', () => clearTimeout(timer));
  }

  private checkPeer(socket: TLSSocket): void {
    const allowed = this.route.config.mtls?.allowedPeers ?? [];
    if (peerAllowed(socket.getPeerCertificate(), allowed)) return;
    this.metrics.peersRejected++;
    this.ctx.log('warn', 'TLS peer not in allowedPeers', {
      listener: this.name,
      subjectaltname: socket.getPeerCertificate()?.subjectaltname ?? null,
    });
    socket.destroy();
  }

  private useCertificates(material: TlsMaterial): void {
    this.frontend.useCertificates(material);
  }
}

/**
 * Socket inactivity (server.timeout = idleMs). While a request waits for upstream response
 * headers the client is legitimately silent, and the request deadline governs that phase;
 * otherwise a silent connection (stalled body, client not reading) is closed.
 */
function onIdleTimeout(socket: Socket): void {
  const ex = (socket as Socket & { [kExchange]?: { awaitingUpstream: boolean; req: InboundRequest } | null })[kExchange];
  if (ex && ex.awaitingUpstream && ex.req.complete) return;
  socket.destroy();
}

/** Builds the route for a config, reusing the previous route's pool and rate limiter if unchanged. */
export async function buildRoute(config: ResolvedListenerConfig, previous: Route | null, ctx: ListenerContext): Promise<Route> {
  let upstream: Upstream;
  if (previous && previous.upstream.canServe(config)) {
    upstream = previous.upstream;
    upstream.updateLimits(config);
  } else {
    upstream = await Upstream.create(config, ctx);
  }
  const rl = config.rateLimit;
  const keepLimiter = previous?.limiter && rl && previous.limiter.rps === rl.rps && previous.limiter.burst === rl.burst;
  const limiter = rl ? (keepLimiter ? previous!.limiter : new TokenBucket(rl.rps, rl.burst, performance.now())) : null;
  const { host, port } = config.target;
  const defaultHost = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { config, upstream, limiter, retry: new RetryPolicy(config.retries), defaultHost };
}
