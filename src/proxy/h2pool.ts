/**
 * HTTP/2 to an upstream (the app behind an `http2` or `grpc` listener, or an outbound HTTP/2
 * upstream): a small pool of multiplexed sessions, with the same Call/CallSink surface as the
 * HTTP/1.1 pool (pool.ts), so forward.ts and h2forward.ts drive both alike.
 *
 * - Streams go on the first session with room under the server's SETTINGS_MAX_CONCURRENT_STREAMS;
 *   a new session is opened only when every one is full, up to `maxConnections` sessions; then
 *   requests wait in FIFO order.
 * - A session that received GOAWAY takes no new streams; its streams above the last stream id
 *   (refused, never processed) and streams refused with REFUSED_STREAM are marked safe to send
 *   again (`reused`, which forward.ts retries once like the HTTP/1.1 keep-alive race).
 * - Sessions idle for `idleMs` are closed.
 * - Header names are lower-cased and the connection-specific fields HTTP/2 forbids (RFC 9113
 *   §8.2.2) are dropped; `te: trailers` is sent for gRPC requests, which need it.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { CONNECT_ERRORS, type Call, type CallPool, type CallSink, type PoolOptions } from './pool.js';
import { Failure } from './retry.js';

/** As for the HTTP/1.1 pool; `tls` null is h2c with prior knowledge, else h2 by ALPN. */
export type H2PoolOptions = PoolOptions;

/** Streams per session until the server's SETTINGS arrive (RFC 9113 recommends at least 100). */
const ASSUMED_MAX_STREAMS = 100;
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Fields that belong to one HTTP/1.1 connection and may not appear in HTTP/2. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

class H2Session {
  active = 0;
  /** No new streams: GOAWAY received, closing, or closed. */
  closing = false;
  connected = false;
  served = 0;
  error: NodeJS.ErrnoException | null = null;
  readonly session: ClientHttp2Session;

  constructor(readonly pool: H2Pool) {
    const o = pool.options;
    const authority = `${o.tls ? 'https' : 'http'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
    this.session = http2.connect(authority, {
      ...(o.tls ?? {}),
      // Our own socket, with Nagle's algorithm off: against delayed ACKs it held small frames
      // back by tens of milliseconds (node's session does not let its socket be changed later).
      createConnection: () => {
        const socket = o.tls ? tls.connect({ ...o.tls, host: o.host, port: o.port, ALPNProtocols: ['h2'] }) : net.connect({ host: o.host, port: o.port });
        socket.setNoDelay(true);
        return socket;
      },
      settings: { enablePush: false, maxHeaderListSize: o.maxHeaderBytes },
      maxHeaderListPairs: 256,
    });
    const session = this.session;
    session.on('connect', () => (this.connected = true));
    session.on('remoteSettings', () => pool.serveWaiting());
    session.on('goaway', () => this.retire());
    session.on('error', (err: NodeJS.ErrnoException) => (this.error = err));
    session.on('close', () => {
      this.closing = true;
      pool.forget(this);
    });
    session.setTimeout(o.idleMs, () => {
      if (this.active === 0) session.close();
    });
  }

  get capacity(): number {
    const remote = this.session.remoteSettings?.maxConcurrentStreams;
    return this.connected && remote !== undefined ? remote : ASSUMED_MAX_STREAMS;
  }

  get hasRoom(): boolean {
    return !this.closing && !this.session.destroyed && this.active < this.capacity;
  }

  retire(): void {
    this.closing = true;
    // close() lets the open streams finish and then ends the session.
    if (!this.session.closed) this.session.close();
  }
}

export class H2Call implements Call {
  reused = false;
  private stream: ClientHttp2Stream | null = null;
  private conn: H2Session | null = null;
  /** Body chunks written before a stream was assigned; null once flushed. */
  private queued: Buffer[] | null = [];
  private queuedEnd = false;
  private responded = false;
  private done = false;

  constructor(
    readonly pool: H2Pool,
    public sink: CallSink | null,
    private readonly headers: OutgoingHttpHeaders,
    /** The whole body (buffered or empty), or null when it is streamed with write()/end(). */
    private body: Buffer | null,
  ) {}

  start(conn: H2Session): void {
    this.conn = conn;
    conn.active++;
    this.reused = conn.served++ > 0;
    const body = this.body;
    const endStream = body !== null && body.length === 0;
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(this.headers, { endStream });
    } catch {
      // The session went away between the pick and the request (GOAWAY, closed).
      conn.active--;
      this.conn = null;
      this.reused = true;
      this.fail(Failure.Reset);
      return;
    }
    this.stream = stream;
    stream.on('response', (headers: IncomingHttpHeaders) => this.onResponse(headers));
    stream.on('data', (chunk: Buffer) => this.sink?.onResponseData(this, chunk));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => this.sink?.onResponseTrailers?.(this, flatten(trailers)));
    stream.on('end', () => this.onEnd());
    stream.on('drain', () => this.sink?.onRequestDrain(this));
    stream.on('error', noop); // followed by 'close', which decides
    stream.on('close', () => this.onClose(stream));
    if (body !== null) {
      this.body = null;
      if (body.length > 0) stream.end(body);
      this.queued = null;
      return;
    }
    const queued = this.queued!;
    this.queued = null;
    for (const chunk of queued) stream.write(chunk);
    if (this.queuedEnd) stream.end();
    else if (queued.length > 0) this.sink?.onRequestDrain(this);
  }

  write(chunk: Buffer): boolean {
    if (this.stream !== null) return this.stream.write(chunk);
    if (this.queued === null) return true; // failed before it started: dropped
    this.queued.push(chunk);
    return false; // resumed by onRequestDrain once a stream takes the queue
  }

  end(): void {
    if (this.stream !== null) this.stream.end();
    else this.queuedEnd = true;
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  abort(): void {
    this.sink = null;
    this.cancel();
  }

  /** HTTP/2 cancels one stream without harming the session, so a discarded response is just cancelled. */
  discard(): void {
    this.sink = null;
    this.cancel();
  }

  private cancel(): void {
    if (this.stream === null) this.pool.dequeue(this);
    else if (!this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
  }

  private onResponse(headers: IncomingHttpHeaders): void {
    this.responded = true;
    this.sink?.onResponse(this, Number(headers[':status']), flatten(headers));
  }

  private onEnd(): void {
    if (this.done) return;
    this.done = true;
    if (this.responded) this.sink?.onResponseEnd(this);
  }

  private onClose(stream: ClientHttp2Stream): void {
    const conn = this.conn!;
    conn.active--;
    this.pool.streamClosed(conn);
    if (this.done && this.responded) return;
    this.done = true;
    if (this.responded) {
      this.sink?.onResponseAborted(this);
      return;
    }
    // Refused streams were never processed: safe to send again (forward.ts retries those once).
    if (stream.rstCode === NGHTTP2_REFUSED_STREAM || (conn.closing && stream.id === undefined)) this.reused = true;
    const err = conn.error;
    const connectFailed = !conn.connected && (err === null || CONNECT_ERRORS.has(err.code ?? '') || err.code === undefined);
    this.fail(connectFailed ? Failure.ConnectFailure : Failure.Reset);
  }

  fail(failure: Failure): void {
    this.queued = null;
    const sink = this.sink;
    this.sink = null;
    sink?.onFailure(this, failure);
  }
}

export class H2Pool implements CallPool {
  private readonly sessions: H2Session[] = [];
  private readonly waiting: H2Call[] = [];
  private retired = false;

  constructor(readonly options: H2PoolOptions) {}

  get connections(): number {
    return this.sessions.length;
  }

  request(sink: CallSink, method: string, path: string, headers: string[], body: Buffer | null): H2Call {
    const call = new H2Call(this, sink, requestHeaders(method, path, this.options.tls !== null, headers), body);
    const session = this.pick();
    if (session) call.start(session);
    else this.waiting.push(call);
    return call;
  }

  /** A stream ended: its slot goes to a waiting request. */
  streamClosed(session: H2Session): void {
    if (this.retired && session.active === 0) session.retire();
    this.serveWaiting();
  }

  serveWaiting(): void {
    while (this.waiting.length > 0) {
      const session = this.pick();
      if (!session) return;
      this.waiting.shift()!.start(session);
    }
  }

  forget(session: H2Session): void {
    const i = this.sessions.indexOf(session);
    if (i >= 0) this.sessions.splice(i, 1);
    // Requests waiting for a slot on a session that never came up would wait forever.
    if (!session.connected && this.sessions.length === 0) {
      for (const call of this.waiting.splice(0)) call.fail(Failure.ConnectFailure);
    } else this.serveWaiting();
  }

  dequeue(call: H2Call): void {
    const i = this.waiting.indexOf(call);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  retire(): void {
    this.retired = true;
    for (const session of [...this.sessions]) if (session.active === 0) session.retire();
  }

  destroy(): void {
    this.retired = true;
    for (const session of [...this.sessions]) session.session.destroy();
  }

  private pick(): H2Session | null {
    for (const session of this.sessions) if (session.hasRoom) return session;
    if (this.retired || this.sessions.length >= this.options.maxConnections) return null;
    // A session still connecting takes streams up to the assumed limit.
    const session = new H2Session(this);
    this.sessions.push(session);
    return session;
  }
}

/** The HTTP/2 request head for a flat HTTP/1-style header array (Host becomes :authority). */
export function requestHeaders(method: string, path: string, secure: boolean, flat: string[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = { ':method': method, ':path': path, ':scheme': secure ? 'https' : 'http' };
  let grpc = false;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    if (name === 'host') {
      out[':authority'] ??= value;
      continue;
    }
    if (CONNECTION_SPECIFIC.has(name) || name.charCodeAt(0) === 0x3a /* : */) continue;
    if (name === 'content-type' && value.startsWith('application/grpc')) grpc = true;
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  if (grpc) out.te = 'trailers';
  return out;
}

/** node's header object as a flat raw array, without pseudo-headers. */
export function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}

function noop(): void {}
