/**
 * tcp and tls listeners: opaque bytes between the client and the app.
 *
 * - `tcp`: plaintext is forwarded as it is; with mTLS (strict, or permissive after sniffing) the
 *   proxy terminates TLS, checks the peer like an HTTP listener does, and forwards the plaintext.
 * - `tls` (passthrough): bytes are forwarded as they are, the app terminates TLS. Under strict
 *   mTLS a connection whose first byte is not a TLS handshake record (0x16) is refused.
 *
 * Each direction is pumped by hand: a write that the other socket cannot take yet pauses the
 * reading side until 'drain' (memory stays bounded by the sockets' high-water marks whatever the
 * speeds). An end (FIN) is passed on as an end, so either side may half-close and keep reading.
 * A connection without a byte either way for `timeouts.idleMs` is closed (the client socket's
 * timer sees both directions: every byte is read from or written to it). Connecting to the app is
 * bound by `timeouts.requestMs`.
 *
 * Admission (connection rate limit, maxConnections) happens in the listener at accept time, before
 * any TLS handshake (see Listener.onConnection).
 */
import net, { type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { AccessLog } from './accesslog.js';
import type { ListenerProtocol, MtlsMode, ResolvedListenerConfig } from './config.js';
import type { Route } from './forward.js';
import { destroyOnTlsError, tlsOptions, type Frontend, type FrontendHooks } from './frontend.js';
import type { ListenerMetrics } from './metrics.js';
import { serverContextOptions, type TlsMaterial } from './tls.js';

/** What a TCP frontend needs from its listener. */
export interface TcpHost {
  readonly name: string;
  readonly route: Route;
  readonly metrics: ListenerMetrics;
  readonly accessLog: AccessLog;
}

/**
 * Why a connection ended, in the access log and `tcp_connections_closed_total`:
 * client-closed / upstream-closed (that side sent its end first, the rest finished normally),
 * client-reset / upstream-reset (an error or reset on that side), upstream-connect-failure,
 * upstream-connect-timeout, idle-timeout, drain, rate-limited, max-connections, not-tls,
 * plaintext-refused (a reload made mTLS strict: plaintext connections still open are cut).
 */
export type CloseReason =
  | 'client-closed'
  | 'upstream-closed'
  | 'client-reset'
  | 'upstream-reset'
  | 'upstream-connect-failure'
  | 'upstream-connect-timeout'
  | 'idle-timeout'
  | 'drain'
  | 'plaintext-refused'
  | 'rate-limited'
  | 'max-connections'
  | 'not-tls';

const FIRST_TLS_BYTE = 0x16;

export class TcpFrontend implements Frontend {
  readonly mode: MtlsMode;
  readonly protocol: ListenerProtocol;
  readonly maxHeaderBytes: number;
  private readonly tls: tls.Server | null = null;
  private readonly sessions = new Set<TcpSession>();
  private headersMs: number;

  constructor(
    config: ResolvedListenerConfig,
    material: TlsMaterial | null,
    hooks: FrontendHooks,
    private readonly host: TcpHost,
  ) {
    this.mode = config.mtls?.mode ?? 'off';
    this.protocol = config.protocol;
    this.maxHeaderBytes = config.limits.maxHeaderBytes;
    this.headersMs = config.timeouts.headersMs;
    if (this.protocol === 'tcp' && this.mode !== 'off') {
      const server = tls.createServer(tlsOptions(config, material));
      server.on('secureConnection', (socket: TLSSocket) => {
        hooks.checkPeer(socket);
        if (!socket.destroyed) this.forward(socket, true);
      });
      server.on('tlsClientError', destroyOnTlsError);
      this.tls = server;
    }
  }

  plain(socket: Socket): void {
    this.forward(socket, false);
  }

  secure(socket: Socket): void {
    if (this.tls) {
      this.tls.emit('connection', socket);
      return;
    }
    // Passthrough. Permissive mode has sniffed already (and lets anything through); strict mode
    // lets only a TLS handshake through.
    if (this.mode !== 'strict') {
      this.forward(socket, true);
      return;
    }
    const started = performance.now();
    const timer = setTimeout(() => socket.destroy(), this.headersMs);
    const onError = () => socket.destroy();
    socket.on('error', onError);
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.pause();
      if (chunk[0] !== FIRST_TLS_BYTE) {
        refuse(this.host, socket, 'not-tls', started, chunk.length);
        return;
      }
      socket.unshift(chunk);
      this.forward(socket, true);
      socket.resume();
    });
  }

  update(config: ResolvedListenerConfig): void {
    this.headersMs = config.timeouts.headersMs;
  }

  useCertificates(material: TlsMaterial): void {
    this.tls?.setSecureContext(serverContextOptions(material));
  }

  /** Byte streams have no request boundary to stop at: connections run until they end. */
  retire(): void {}

  closeIdleConnections(): void {}

  /** A reload made mTLS strict: connections that came in as plaintext are cut. */
  closePlaintext(): void {
    for (const s of this.sessions) {
      if (s.secure) continue;
      s.destroy('plaintext-refused');
      s.finish();
    }
  }

  /** Cuts every connection still open (the end of a drain). */
  close(): void {
    // Logged now: the process may exit before the sockets' close events.
    for (const s of this.sessions) {
      s.destroy('drain');
      s.finish();
    }
  }

  /** A connection another frontend has read the first bytes of (detect.ts). */
  serve(client: Socket, secure: boolean): void {
    this.forward(client, secure);
  }

  /** `secure`: TLS terminated here, or (passthrough) the stream started with a TLS record. */
  private forward(client: Socket, secure: boolean): void {
    const session = new TcpSession(this.host, client, this.host.route, secure, () => this.sessions.delete(session));
    this.sessions.add(session);
  }
}

/** Logs and counts a connection refused before any upstream contact, and closes it. */
export function refuse(host: TcpHost, socket: Socket, reason: CloseReason, started: number, bytesReceived = 0): void {
  const peer = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
  socket.destroy();
  host.metrics.tcpClosed.set(reason, (host.metrics.tcpClosed.get(reason) ?? 0) + 1);
  host.metrics.tcpBytesReceived += bytesReceived;
  const { target } = host.route.config;
  host.accessLog.writeConnection({
    listener: host.name,
    protocol: host.route.config.protocol,
    peer,
    bytesReceived,
    bytesSent: 0,
    durationMs: performance.now() - started,
    upstream: `${target.host}:${target.port}`,
    closeReason: reason,
  });
}

/** One client connection and its upstream connection. */
/**
 * Reads from apps land in one shared buffer (each read is handed on before the next happens), and
 * leave it through a scratch buffer that is reused while clients take writes at once.
 */
const READ_BUFFER_SIZE = 64 * 1024;
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
let scratch = Buffer.allocUnsafe(READ_BUFFER_SIZE);

class TcpSession {
  private readonly upstream: Socket;
  private readonly started = performance.now();
  private readonly peer: string;
  private bytesReceived = 0;
  private bytesSent = 0;
  private reason: CloseReason | null = null;
  private firstEnd: 'client' | 'upstream' | null = null;
  private open = 2;
  private logged = false;
  private connectTimer: NodeJS.Timeout | null;

  constructor(
    private readonly host: TcpHost,
    private readonly client: Socket,
    private readonly route: Route,
    readonly secure: boolean,
    private readonly onDone: () => void,
  ) {
    const { target, timeouts } = route.config;
    this.peer = `${client.remoteAddress ?? ''}:${client.remotePort ?? ''}`;
    const up = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      allowHalfOpen: true,
      onread: { buffer: sharedReadBuffer, callback: (n: number) => this.fromUpstream(n) },
    });
    this.upstream = up;
    this.connectTimer = setTimeout(() => this.destroy('upstream-connect-timeout'), timeouts.requestMs);
    up.once('connect', () => {
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
    });

    client.setTimeout(timeouts.idleMs, () => this.destroy('idle-timeout'));
    // Client bytes wait in `up` until it connects; past its high-water mark the client is paused.
    client.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      if (!up.write(chunk)) client.pause();
    });
    up.on('drain', () => client.resume());
    client.on('drain', () => up.resume());
    client.on('end', () => {
      this.firstEnd ??= 'client';
      up.end();
    });
    up.on('end', () => {
      this.firstEnd ??= 'upstream';
      client.end();
    });
    client.on('error', () => {
      this.reason ??= 'client-reset';
    });
    up.on('error', () => {
      this.reason ??= up.connecting || this.connectTimer !== null ? 'upstream-connect-failure' : 'upstream-reset';
    });
    // A side that closes cleanly has both ended and flushed; the other finishes on its own. A side
    // that closes in error takes the other one down with it.
    client.on('close', (hadError) => {
      if (hadError || this.reason !== null) up.destroy();
      this.closed();
    });
    up.on('close', (hadError) => {
      if (hadError || this.reason !== null) client.destroy();
      this.closed();
    });
    if (client.isPaused()) client.resume();
  }

  /**
   * n bytes from the app in the shared read buffer: they go to the client through the scratch
   * buffer, which is used again unless the client's socket had to queue it. A fresh buffer per
   * read instead (a 'data' event each) left streaming at hundreds of MB/s to the garbage collector:
   * peak RSS 85 MB for four streams. Returning false pauses reading until the client drains.
   */
  private fromUpstream(n: number): boolean {
    this.bytesSent += n;
    sharedReadBuffer.copy(scratch, 0, 0, n);
    const ok = this.client.write(scratch.subarray(0, n));
    if (this.client.writableLength > 0) scratch = Buffer.allocUnsafe(READ_BUFFER_SIZE); // the write holds it
    if (!ok) this.upstream.pause();
    return ok;
  }

  destroy(reason: CloseReason): void {
    this.reason ??= reason;
    this.client.destroy();
    this.upstream.destroy();
  }

  private closed(): void {
    if (--this.open === 0) this.finish();
  }

  /** Counts and logs the connection (once). */
  finish(): void {
    if (this.logged) return;
    this.logged = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.onDone();
    const reason: CloseReason = this.reason ?? (this.firstEnd === 'upstream' ? 'upstream-closed' : 'client-closed');
    const m = this.host.metrics;
    m.tcpBytesReceived += this.bytesReceived;
    m.tcpBytesSent += this.bytesSent;
    m.tcpClosed.set(reason, (m.tcpClosed.get(reason) ?? 0) + 1);
    const { target, protocol } = this.route.config;
    this.host.accessLog.writeConnection({
      listener: this.host.name,
      protocol,
      peer: this.peer,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs: performance.now() - this.started,
      upstream: `${target.host}:${target.port}`,
      closeReason: reason,
    });
  }
}
