/**
 * The HTTP/2 side of an HTTP listener, on node's `http2` module: h2c with prior knowledge (the
 * frontend saw the connection preface) and h2 over TLS (ALPN `h2`). Like the HTTP/1.1 server it
 * never listens: the listener hands it sockets.
 *
 * Limits, per connection:
 * - SETTINGS_MAX_CONCURRENT_STREAMS = limits.maxConcurrentStreams (nghttp2 refuses streams beyond
 *   it with REFUSED_STREAM), SETTINGS_MAX_HEADER_LIST_SIZE = limits.maxHeaderBytes (h2forward.ts
 *   also answers 431 for larger or too many headers), no server push;
 * - rapid reset (CVE-2023-44487): streams the client resets before their response is complete
 *   take a token from a bucket of limits.maxResetsPerSecond (burst twice that); an empty bucket
 *   closes the connection with GOAWAY ENHANCE_YOUR_CALM, so a client cannot make the proxy start
 *   upstream requests faster than it would let them finish;
 * - a connection with no open stream for timeouts.idleMs is closed with GOAWAY, and node's own
 *   session memory cap (10 MB) bounds what a peer can make it buffer.
 */
import http2, { type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { TokenBucket } from './ratelimit.js';

export interface H2Settings {
  maxConcurrentStreams: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  maxResetsPerSecond: number;
  idleTimeoutMs: number;
}

export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, endStream: boolean, rawHeaders: string[]) => void;

const kResets = Symbol('sidecarctl.resets');
const kOpen = Symbol('sidecarctl.openStreams');
/** node keeps no public count of a session's open streams: we count them. */
type TrackedSession = ServerHttp2Session & { [kResets]?: TokenBucket; [kOpen]?: number };
const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4); no HTTP/1 method starts with "PRI". */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export class H2Server {
  private readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private retired = false;

  constructor(
    private settings: H2Settings,
    onStream: StreamHandler,
  ) {
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: settings.maxConcurrentStreams,
        maxHeaderListSize: settings.maxHeaderBytes,
        enablePush: false,
      },
      // Pseudo-headers count too; h2forward.ts answers 431 past maxHeaders itself.
      maxHeaderListPairs: settings.maxHeaders + 8,
      peerMaxConcurrentStreams: settings.maxConcurrentStreams,
    });
    this.server.on('session', (session: TrackedSession) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const session = stream.session as TrackedSession | undefined;
      if (session) {
        session[kOpen] = (session[kOpen] ?? 0) + 1;
        stream.once('close', () => {
          session[kOpen]!--;
          if (this.retired && session[kOpen] === 0 && !session.closed) session.close();
        });
      }
      onStream(stream, headers, (flags & NGHTTP2_FLAG_END_STREAM) !== 0, rawHeaders);
    });
  }

  /** Serves a socket whose first bytes are the HTTP/2 preface (plaintext, or TLS with ALPN h2). */
  handle(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  update(settings: H2Settings): void {
    this.settings = settings;
  }

  /** GOAWAY to every client: open streams finish, new ones go to a new connection. */
  retire(): void {
    this.retired = true;
    for (const session of this.sessions) if (!session.closed) session.close();
  }

  closeIdleConnections(): void {
    for (const session of this.sessions) if (idle(session)) session.close();
  }

  close(): void {
    for (const session of this.sessions) session.destroy();
  }

  private track(session: TrackedSession): void {
    const { maxResetsPerSecond, idleTimeoutMs } = this.settings;
    session[kResets] = new TokenBucket(maxResetsPerSecond, maxResetsPerSecond * 2, performance.now());
    this.sessions.add(session);
    session.on('close', () => this.sessions.delete(session));
    session.on('error', noop); // followed by 'close'
    session.setTimeout(idleTimeoutMs, () => {
      if (idle(session)) session.close();
    });
    if (this.retired) session.close();
  }
}

/**
 * A stream ended by the client before its response was complete. Returns false when this was one
 * reset too many: the connection is then closed with ENHANCE_YOUR_CALM.
 */
export function countClientReset(session: ServerHttp2Session | undefined): boolean {
  const bucket = (session as TrackedSession | undefined)?.[kResets];
  if (!session || !bucket || session.destroyed) return true;
  if (bucket.take(performance.now()) === 0) return true;
  // GOAWAY first (destroy() alone would say NO_ERROR), then cut once it is on the wire.
  session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
  setImmediate(() => session.destroy());
  return false;
}

function idle(session: TrackedSession): boolean {
  return !session.closed && (session[kOpen] ?? 0) === 0;
}

function noop(): void {}
