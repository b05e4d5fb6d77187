/**
 * `detect` listeners: the first bytes of each connection decide what it is.
 * - the HTTP/2 preface or an HTTP/1 method token: HTTP (the HTTP frontend: HTTP/1.1 or h2 from the
 *   client, HTTP/1.1 to the app, as for an `http` listener);
 * - anything else, or nothing within DETECT_WAIT_MS: raw TCP to the app (the tcp frontend).
 * Server-first protocols (MySQL, a Redis greeting) fall into the second case after the short wait;
 * inject declares the well-known ones as tcp, so they are never sniffed at all.
 *
 * With mTLS the proxy terminates TLS first and looks at the decrypted bytes (ALPN h2 is HTTP/2
 * whatever comes); without it, a connection that opens with a TLS record is passed through as it is
 * (the app terminates its own TLS).
 */
import type { Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { ListenerProtocol, MtlsMode, ResolvedListenerConfig } from './config.js';
import { createFrontend, destroyOnTlsError, startsWithPreface, tlsOptions, type Frontend, type FrontendHooks } from './frontend.js';
import { TcpFrontend, type TcpHost } from './tcp.js';
import { serverContextOptions, type TlsMaterial } from './tls.js';

/** How long a silent client may take before it is taken to be waiting for a server-first greeting. */
export const DETECT_WAIT_MS = 300;

export class DetectFrontend implements Frontend {
  readonly mode: MtlsMode;
  readonly protocol: ListenerProtocol = 'detect';
  readonly maxHeaderBytes: number;
  /** Plaintext HTTP (the TLS, if any, is ours: terminated before these see the socket). */
  private readonly http: Frontend;
  private readonly tcp: TcpFrontend;
  private readonly tls: tls.Server | null = null;

  constructor(config: ResolvedListenerConfig, material: TlsMaterial | null, hooks: FrontendHooks, host: TcpHost) {
    this.mode = config.mtls?.mode ?? 'off';
    this.maxHeaderBytes = config.limits.maxHeaderBytes;
    const plainConfig: ResolvedListenerConfig = { ...config, mtls: null };
    this.http = createFrontend({ ...plainConfig, protocol: 'http' }, null, hooks);
    this.tcp = new TcpFrontend({ ...plainConfig, protocol: 'tcp' }, null, hooks, host);
    if (this.mode !== 'off') {
      const server = tls.createServer({ ...tlsOptions(config, material), ALPNProtocols: ['h2', 'http/1.1'] });
      server.on('secureConnection', (socket: TLSSocket) => {
        hooks.checkPeer(socket);
        if (!socket.destroyed) this.route(socket, true);
      });
      server.on('tlsClientError', destroyOnTlsError);
      this.tls = server;
    }
  }

  plain(socket: Socket): void {
    this.route(socket, false);
  }

  /** A TLS handshake: ours to terminate under mTLS; without mTLS, the app's (passed through). */
  secure(socket: Socket): void {
    if (this.tls) this.tls.emit('connection', socket);
    else this.tcp.serve(socket, true);
  }

  update(config: ResolvedListenerConfig): void {
    this.http.update({ ...config, mtls: null, protocol: 'http' });
    this.tcp.update({ ...config, mtls: null, protocol: 'tcp' });
  }

  useCertificates(material: TlsMaterial): void {
    this.tls?.setSecureContext(serverContextOptions(material));
  }

  retire(idleGraceMs?: number): void {
    this.http.retire(idleGraceMs);
    this.tcp.retire();
  }

  closeIdleConnections(): void {
    this.http.closeIdleConnections();
  }

  closePlaintext(): void {
    this.tcp.closePlaintext();
  }

  close(): void {
    this.http.close();
    this.tcp.close();
  }

  /** Reads the first bytes (decrypted ones under mTLS) and hands the socket on. */
  private route(socket: Socket, secure: boolean): void {
    const toTcp = () => {
      socket.removeListener('data', onData);
      this.tcp.serve(socket, secure);
    };
    const timer = setTimeout(toTcp, DETECT_WAIT_MS);
    const onClose = () => clearTimeout(timer);
    const onData = (chunk: Buffer) => {
      clearTimeout(timer);
      socket.removeListener('close', onClose);
      socket.pause();
      socket.unshift(chunk);
      if (!secure && chunk[0] === FIRST_TLS_BYTE) {
        this.tcp.serve(socket, true); // the app's own TLS
        return;
      }
      if (looksLikeHttp(chunk)) this.http.plain(socket);
      else this.tcp.serve(socket, secure);
      socket.resume();
    };
    socket.once('close', onClose);
    socket.once('data', onData);
  }
}

const FIRST_TLS_BYTE = 0x16;

/**
 * The HTTP/2 preface, or a request line's start: 3 to 10 upper-case letters (a method token as
 * HTTP clients send them) and a space. A first read that ends inside the token counts too.
 */
export function looksLikeHttp(chunk: Buffer): boolean {
  if (startsWithPreface(chunk)) return true;
  const n = Math.min(chunk.length, 11);
  for (let i = 0; i < n; i++) {
    const c = chunk[i]!;
    if (c === 0x20) return i >= 3;
    if (c < 0x41 || c > 0x5a) return false;
  }
  return n === chunk.length && n > 0 && n < 11;
}
