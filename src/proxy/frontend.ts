/**
 * Frontends: the HTTP servers behind a listener's port, for one TLS mode. The listener's
 * net.Server accepts sockets and hands each to its current frontend (plaintext, or TLS; in
 * permissive mode after sniffing the first byte), which never listens itself.
 *
 * Two implementations behind one switch (SERVER_IMPLEMENTATION):
 * - `lean` (h1server.ts): our own HTTP/1.1 server and strict request parser on the raw sockets;
 * - `node`: node's http/https servers, as before, kept so that the choice can be flipped back.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls, { type TLSSocket } from 'node:tls';
import type { ListenerProtocol, MtlsMode, ResolvedListenerConfig } from './config.js';
import type { InboundRequest, InboundResponse } from './forward.js';
import { H1Server, type H1Settings } from './h1server.js';
import { H2_PREFACE, H2Server, type H2Settings, type StreamHandler } from './h2server.js';
import { serverContextOptions, type TlsMaterial } from './tls.js';

/** Which HTTP server the listeners use. */
export const SERVER_IMPLEMENTATION: 'lean' | 'node' = 'lean';

export interface FrontendHooks {
  onRequest(req: InboundRequest, res: InboundResponse): void;
  onUpgrade(req: InboundRequest, socket: Duplex, head: Buffer): void;
  /** An HTTP/2 request (h2c with prior knowledge, or h2 over TLS). */
  onStream: StreamHandler;
  /** A TLS client finished its handshake: destroy the socket to refuse the peer. */
  checkPeer(socket: TLSSocket): void;
  /** A connection idle for idleMs during a request: destroy it unless it is legitimately waiting. */
  onIdle(socket: Socket): void;
}

export interface Frontend {
  readonly mode: MtlsMode;
  readonly protocol: ListenerProtocol;
  readonly maxHeaderBytes: number;
  /** Serves a plaintext socket. */
  plain(socket: Socket): void;
  /** Serves a socket that starts with a TLS handshake. */
  secure(socket: Socket): void;
  /** Timeouts and limits that can change without a new frontend. */
  update(config: ResolvedListenerConfig): void;
  useCertificates(material: TlsMaterial): void;
  /**
   * Further responses close their connections; idle connections are closed at once, or with
   * `idleGraceMs` once they have been silent that long (a reload that must lose no request).
   */
  retire(idleGraceMs?: number): void;
  closeIdleConnections(): void;
  /** Byte-stream frontends: cut connections that came in as plaintext (mTLS became strict). */
  closePlaintext?(): void;
  /** Releases timers; connections still open are not touched. */
  close(): void;
}

export function createFrontend(config: ResolvedListenerConfig, material: TlsMaterial | null, hooks: FrontendHooks): Frontend {
  return SERVER_IMPLEMENTATION === 'lean' ? new LeanFrontend(config, material, hooks) : new NodeFrontend(config, material, hooks);
}

/** TLS server options shared by every frontend: client certificates required, TLS 1.2+. */
export function tlsOptions(config: ResolvedListenerConfig, material: TlsMaterial | null): tls.TlsOptions {
  return {
    ...serverContextOptions(material),
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: config.timeouts.headersMs,
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Our HTTP/1.1 server and node's HTTP/2 one behind one port: plaintext connections that open with
 * the HTTP/2 preface (h2c, prior knowledge) and TLS connections that negotiated ALPN `h2` go to
 * HTTP/2, the rest to HTTP/1.1.
 */
class LeanFrontend implements Frontend {
  readonly mode: MtlsMode;
  readonly protocol: ListenerProtocol;
  readonly maxHeaderBytes: number;
  private readonly server: H1Server;
  private readonly h2: H2Server;
  private readonly tls: tls.Server | null = null;
  private headersMs: number;

  constructor(config: ResolvedListenerConfig, material: TlsMaterial | null, hooks: FrontendHooks) {
    this.mode = config.mtls?.mode ?? 'off';
    this.protocol = config.protocol;
    this.maxHeaderBytes = config.limits.maxHeaderBytes;
    this.headersMs = config.timeouts.headersMs;
    this.server = new H1Server(leanSettings(config), {
      onRequest: hooks.onRequest,
      onUpgrade: hooks.onUpgrade,
      onConnect: refuseConnect,
      onIdle: hooks.onIdle,
    });
    this.h2 = new H2Server(h2Settings(config), hooks.onStream);
    if (this.mode !== 'off') {
      const server = tls.createServer({ ...tlsOptions(config, material), ALPNProtocols: ['h2', 'http/1.1'] });
      server.on('secureConnection', (socket: TLSSocket) => {
        hooks.checkPeer(socket);
        if (socket.destroyed) return;
        if (socket.alpnProtocol === 'h2') this.h2.handle(socket);
        else this.server.handle(socket);
      });
      // Failed handshakes: node destroys the socket when nobody listens, except on the handshake
      // timeout of a socket handed in with emit('connection'): a client that sends one byte and
      // stops would hold the connection forever.
      server.on('tlsClientError', destroyOnTlsError);
      this.tls = server;
    }
  }

  /** Plaintext: the first bytes tell HTTP/2 (the preface) from HTTP/1.1. */
  plain(socket: Socket): void {
    // Silent past headersMs: the 408 the HTTP/1.1 server would give.
    const timer = setTimeout(() => socket.end(SILENT_CLIENT_TIMEOUT, 'latin1', () => socket.destroy()), this.headersMs);
    const onClose = () => clearTimeout(timer);
    socket.once('close', onClose);
    socket.on('error', noop);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.removeListener('close', onClose);
      socket.removeListener('error', noop);
      socket.pause();
      socket.unshift(chunk);
      // node's HTTP/2 session takes the unshifted bytes itself; resuming would deliver them twice.
      if (startsWithPreface(chunk)) this.h2.handle(socket);
      else {
        this.server.handle(socket);
        socket.resume();
      }
    });
  }

  secure(socket: Socket): void {
    this.tls!.emit('connection', socket);
  }

  update(config: ResolvedListenerConfig): void {
    this.headersMs = config.timeouts.headersMs;
    this.server.update(leanSettings(config));
    this.h2.update(h2Settings(config));
  }

  useCertificates(material: TlsMaterial): void {
    this.tls?.setSecureContext(serverContextOptions(material));
  }

  retire(idleGraceMs?: number): void {
    this.server.retire(idleGraceMs ?? null);
    this.h2.retire();
  }

  closeIdleConnections(): void {
    this.server.closeIdleConnections();
    this.h2.closeIdleConnections();
  }

  close(): void {
    this.server.close();
    this.h2.close();
  }
}

/**
 * Whether a connection's first bytes are the HTTP/2 preface. A first read shorter than 4 bytes
 * cannot be told from an HTTP/1.1 method ("P" of POST) and goes to HTTP/1.1.
 */
export function startsWithPreface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, H2_PREFACE.length);
  return n >= 4 && chunk.compare(H2_PREFACE, 0, n, 0, n) === 0;
}

function h2Settings(config: ResolvedListenerConfig): H2Settings {
  const { timeouts, limits } = config;
  return {
    maxConcurrentStreams: limits.maxConcurrentStreams,
    maxHeaderBytes: limits.maxHeaderBytes,
    maxHeaders: limits.maxHeaders,
    maxResetsPerSecond: limits.maxResetsPerSecond,
    idleTimeoutMs: timeouts.idleMs,
  };
}

const SILENT_CLIENT_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

function noop(): void {}

function leanSettings(config: ResolvedListenerConfig): H1Settings {
  const { timeouts, limits } = config;
  return {
    maxHeaderBytes: limits.maxHeaderBytes,
    maxHeaders: limits.maxHeaders,
    headersTimeoutMs: Math.min(timeouts.headersMs, timeouts.requestMs),
    requestTimeoutMs: timeouts.requestMs,
    keepAliveTimeoutMs: timeouts.idleMs,
    idleTimeoutMs: timeouts.idleMs,
  };
}

/** A handshake that failed or timed out (`handshakeTimeout` = timeouts.headersMs). */
export function destroyOnTlsError(_err: Error, socket: TLSSocket): void {
  socket.destroy();
}

/** CONNECT would turn the proxy into an open tunnel: refused on every listener. */
function refuseConnect(_req: unknown, socket: Duplex): void {
  socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', () => socket.destroy());
}

// ---------------------------------------------------------------------------------------------

/** node's http/https servers (the previous implementation). */
class NodeFrontend implements Frontend {
  readonly mode: MtlsMode;
  readonly protocol: ListenerProtocol = 'http';
  readonly maxHeaderBytes: number;
  private readonly http: http.Server | null = null;
  private readonly https: https.Server | null = null;
  private sweep: NodeJS.Timeout | null = null;

  constructor(config: ResolvedListenerConfig, material: TlsMaterial | null, hooks: FrontendHooks) {
    this.mode = config.mtls?.mode ?? 'off';
    this.maxHeaderBytes = config.limits.maxHeaderBytes;
    const { timeouts, limits } = config;
    const options: http.ServerOptions = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.idleMs,
      // headersTimeout/requestTimeout are enforced by a periodic sweep (node default: every 30 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(timeouts.headersMs / 2))),
      requireHostHeader: true,
      insecureHTTPParser: false,
      noDelay: true,
    };
    if (this.mode !== 'strict') this.http = this.setup(http.createServer(options), config, hooks);
    if (this.mode !== 'off') {
      const server = https.createServer({ ...options, ...tlsOptions(config, material) });
      server.prependListener('secureConnection', (socket: TLSSocket) => hooks.checkPeer(socket));
      this.https = this.setup(server, config, hooks);
    }
  }

  private setup<S extends http.Server>(server: S, config: ResolvedListenerConfig, hooks: FrontendHooks): S {
    applyServerSettings(server, config);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => hooks.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => hooks.onUpgrade(req, socket, head));
    server.on('connect', refuseConnect);
    server.on('timeout', hooks.onIdle);
    // The servers never listen (the net.Server owns the port), but node only starts tracking
    // connections for headersTimeout, requestTimeout and closeIdleConnections() on 'listening'.
    server.emit('listening');
    return server;
  }

  plain(socket: Socket): void {
    this.http!.emit('connection', socket);
  }

  secure(socket: Socket): void {
    this.https!.emit('connection', socket);
  }

  update(config: ResolvedListenerConfig): void {
    if (this.http) applyServerSettings(this.http, config);
    if (this.https) applyServerSettings(this.https, config);
  }

  useCertificates(material: TlsMaterial): void {
    this.https?.setSecureContext(serverContextOptions(material));
  }

  /** node's maxRequestsPerSocket mechanism: every further response asks the client to close. */
  retire(): void {
    for (const server of [this.http, this.https]) if (server) server.maxRequestsPerSocket = 1;
    this.closeIdleConnections();
    // Connections that were busy become idle later; sweep a few times (unref'd: never keeps the
    // process alive).
    let sweeps = 0;
    this.sweep = setInterval(() => {
      this.closeIdleConnections();
      if (++sweeps >= 600 && this.sweep) clearInterval(this.sweep);
    }, 1000);
    this.sweep.unref();
  }

  closeIdleConnections(): void {
    this.http?.closeIdleConnections();
    this.https?.closeIdleConnections();
  }

  close(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.http?.close(); // stops node's connection-checking interval
    this.https?.close();
  }
}

/** Settings node reads from the server object at run time (no need for a new server). */
function applyServerSettings(server: http.Server, config: ResolvedListenerConfig): void {
  const { timeouts, limits } = config;
  server.headersTimeout = Math.min(timeouts.headersMs, timeouts.requestMs);
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = timeouts.idleMs;
  server.timeout = timeouts.idleMs;
  // One above the limit: node silently drops headers beyond maxHeadersCount, so the request
  // handler sees one extra header and answers 431 (see forward.ts).
  server.maxHeadersCount = limits.maxHeaders + 1;
}
