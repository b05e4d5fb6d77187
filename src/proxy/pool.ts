/**
 * Keep-alive connection pool and lean HTTP/1.1 client for one upstream.
 *
 * Each connection carries one request at a time (no pipelining). At most `max` connections are
 * open; further requests wait in FIFO order (the breaker's "pending" requests). Idle connections
 * are closed after `idleMs`. A request is sent as one write (head and, when already known, the
 * body), and the answer is read by ResponseParser and handed to the call's sink.
 *
 * A call's sink is detached as soon as the caller gives up on it (abort) or no longer cares about
 * its body (discard), so a late event can never reach a request that moved on.
 */
import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { ParseError, ResponseParser, type ResponseHandler } from './h1parser.js';
import { Failure } from './retry.js';

/** One request to an upstream, as forward.ts drives it: HTTP/1.1 here, HTTP/2 in h2pool.ts. */
export interface Call {
  /** Sent on a connection that had served requests before (a reset may be the keep-alive race). */
  readonly reused: boolean;
  /** Streams part of the request body; false means wait for onRequestDrain. */
  write(chunk: Buffer): boolean;
  /** Ends a streamed request body. */
  end(): void;
  pause(): void;
  resume(): void;
  /** Gives up: no more events, and the connection or stream (its state unknown) is closed. */
  abort(): void;
  /** No more events; the rest of the response is dropped. */
  discard(): void;
}

/** What Upstream needs of a pool, whichever protocol it speaks to the target. */
export interface CallPool {
  readonly connections: number;
  readonly options: { maxConnections: number };
  request(sink: CallSink, method: string, path: string, headers: string[], body: Buffer | null, chunked: boolean): Call;
  /** Idle connections close now, busy ones after their requests. */
  retire(): void;
  destroy(): void;
}

export interface CallSink {
  onResponse(call: Call, status: number, rawHeaders: string[]): void;
  /**
   * A piece of the response body. It may lie in the shared read buffer, valid only during the call:
   * the sink returns true when it still holds a reference to it afterwards (a socket write that
   * had to queue), and the pool then leaves that buffer to it and reads into a new one.
   */
  onResponseData(call: Call, chunk: Buffer): boolean;
  /** HTTP/2 upstreams: the response's trailers, just before onResponseEnd. */
  onResponseTrailers?(call: Call, rawTrailers: string[]): void;
  onResponseEnd(call: Call): void;
  /** No (complete) response head: the connection failed, was reset, or answered garbage. */
  onFailure(call: Call, failure: Failure): void;
  /** The connection broke in the middle of the response body. */
  onResponseAborted(call: Call): void;
  /** The request body may be written again after write() returned false. */
  onRequestDrain(call: Call): void;
}

export interface PoolOptions {
  host: string;
  port: number;
  /** TLS origination options; null for plaintext. */
  tls: ConnectionOptions | null;
  maxConnections: number;
  idleMs: number;
  maxHeaderBytes: number;
}

/** Node error codes meaning the connection (or its TLS handshake) never came up. */
export const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

/**
 * The read buffer of every plaintext upstream connection (net's `onread`): reads land here instead
 * of in a new Buffer each, and skip the stream machinery of a 'data' event. One buffer serves all
 * connections because each read is parsed completely before the next one happens; the parser
 * copies what it keeps (see ResponseParser.execute).
 */
const READ_BUFFER_SIZE = 64 * 1024;
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);

/**
 * Body bytes leave the shared read buffer as a copy in this scratch buffer, which is used again
 * for the next piece as long as the sink let go of the last one (a client socket that took the
 * write at once, the usual case). When the sink keeps it (a write that had to queue: a slow
 * client), the scratch is left to that write and a new one is made. A fresh allocation per read
 * instead was only given back by the garbage collector: 100 clients that never read a 10 MB
 * response drove the proxy from 48 to 90 MB RSS that way, and glibc kept it after they left.
 */
let bodyScratch = Buffer.allocUnsafe(READ_BUFFER_SIZE);

export class UpstreamCall implements Call {
  /** The connection had served requests before (a reset may be the keep-alive race). */
  reused = false;
  conn: Connection | null = null;
  /** The request (head and body) has been written completely. */
  requestEnded = false;
  private head: string;

  constructor(
    readonly pool: Pool,
    public sink: CallSink | null,
    readonly method: string,
    path: string,
    headers: string[],
    /** Body sent with the head (buffered or empty), or null when it will be streamed with write(). */
    private body: Buffer | null,
    /** Stream the body with chunked coding (its length is unknown). */
    readonly chunked: boolean,
  ) {
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    this.head = `${head}\r\n`;
  }

  /** Sends the head (and a known body) once a connection is assigned. */
  send(conn: Connection): void {
    this.conn = conn;
    const socket = conn.socket;
    const body = this.body;
    if (body === null || body.length === 0) {
      // Head only: a plain write (cork/uncork would only add the buffering detour).
      socket.write(this.head, 'latin1');
    } else {
      socket.cork(); // head and body in one writev
      socket.write(this.head, 'latin1');
      socket.write(body);
      socket.uncork();
    }
    if (body !== null) {
      this.requestEnded = true;
      this.body = null;
    }
  }

  /** Streams part of the request body; false means wait for onRequestDrain. */
  write(chunk: Buffer): boolean {
    const conn = this.conn;
    if (conn === null) return this.pool.queueBody(this, chunk);
    const socket = conn.socket;
    if (!this.chunked) return socket.write(chunk);
    socket.cork();
    socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    const ok = socket.write('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  /** Ends a streamed request body. */
  end(): void {
    if (this.conn === null) {
      this.pool.queueBody(this, null);
      return;
    }
    if (this.chunked) this.conn.socket.write('0\r\n\r\n', 'latin1');
    this.requestEnded = true;
  }

  pause(): void {
    this.conn?.socket.pause();
  }

  resume(): void {
    this.conn?.socket.resume();
  }

  /** Gives up: no more events, and the connection (its state unknown) is closed. */
  abort(): void {
    this.sink = null;
    if (this.conn === null) this.pool.dequeue(this);
    else this.conn.destroy();
  }

  /** No more events, but the response is read to its end so the connection can be reused. */
  discard(): void {
    this.sink = null;
    this.conn?.socket.resume();
  }
}

export class Connection implements ResponseHandler {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  call: UpstreamCall | null = null;
  /** When the connection went back to the pool (performance.now()). */
  idleSince = 0;
  private connected = false;
  private headReceived = false;
  private served = 0;
  private failed = false;
  /** Reads land in sharedReadBuffer (plaintext), not in a Buffer of their own (TLS). */
  private readonly sharedReads: boolean;

  constructor(readonly pool: Pool) {
    const o = pool.options;
    this.socket = o.tls
      ? tls.connect({ ...o.tls, host: o.host, port: o.port, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host: o.host, port: o.port, onread: { buffer: sharedReadBuffer, callback: (n, buf) => this.onRead(n, buf) } });
    this.sharedReads = !o.tls;
    this.socket.setNoDelay(true);
    // No socket timeout: node would re-arm it on every read and write (a timer list removal and
    // insertion each). Idle connections are closed by the pool's sweep (Pool.sweepIdle).
    this.parser = new ResponseParser(o.maxHeaderBytes, this);
    this.socket.once(o.tls ? 'secureConnect' : 'connect', () => (this.connected = true));
    if (o.tls) this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => {
      const call = this.call;
      if (call?.sink) call.sink.onRequestDrain(call);
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.onClose(err));
    this.socket.on('close', () => this.onClose(null));
  }

  assign(call: UpstreamCall): void {
    this.call = call;
    call.reused = this.served > 0;
    this.headReceived = false;
    this.parser.start(call.method);
    this.socket.resume();
    call.send(this);
  }

  destroy(): void {
    this.socket.destroy();
  }

  onHead(status: number, rawHeaders: string[]): void {
    this.headReceived = true;
    const call = this.call;
    if (call?.sink) call.sink.onResponse(call, status, rawHeaders);
  }

  onBody(chunk: Buffer): void {
    const sink = this.call?.sink;
    if (!sink) return;
    if (!this.sharedReads || chunk.buffer !== sharedReadBuffer.buffer) {
      sink.onResponseData(this.call!, chunk); // a buffer of its own (TLS reads, reassembled pieces)
      return;
    }
    const n = chunk.copy(bodyScratch);
    if (sink.onResponseData(this.call!, bodyScratch.subarray(0, n))) bodyScratch = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  }

  onComplete(): void {
    const call = this.call!;
    this.call = null;
    this.served++;
    // Reusable only if both sides of the exchange are complete and framed.
    const reusable = this.parser.keepAlive && call.requestEnded && !this.socket.destroyed;
    this.pool.release(this, reusable);
    if (call.sink) call.sink.onResponseEnd(call);
  }

  /** A read into the shared buffer (plaintext connections); returning false would pause. */
  private onRead(length: number, buf: Uint8Array): boolean {
    this.onData(Buffer.from(buf.buffer, buf.byteOffset, length));
    return true;
  }

  private onData(chunk: Buffer): void {
    if (this.call === null) {
      this.destroy(); // a server must not talk on an idle connection
      return;
    }
    try {
      this.parser.execute(chunk);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.failed = true;
      this.fail(this.headReceived ? null : Failure.InvalidResponse);
      this.destroy();
    }
  }

  private onClose(err: NodeJS.ErrnoException | null): void {
    if (this.failed) return;
    this.failed = true;
    this.pool.forget(this);
    const call = this.call;
    if (call === null) return;
    if (this.headReceived) {
      if (this.parser.finish()) return; // a body delimited by the close: onComplete ran
      this.fail(null);
      return;
    }
    const code = err?.code ?? '';
    const connectFailure = !this.connected || CONNECT_ERRORS.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL');
    this.fail(connectFailure ? Failure.ConnectFailure : Failure.Reset);
  }

  /** Reports a failure of the current call: before the head (`failure`) or mid-body (null). */
  private fail(failure: Failure | null): void {
    const call = this.call;
    this.call = null;
    this.pool.forget(this);
    if (!call?.sink) return;
    if (failure === null) call.sink.onResponseAborted(call);
    else call.sink.onFailure(call, failure);
  }
}

export class Pool implements CallPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: UpstreamCall[] = [];
  /** Body chunks written by calls still waiting for a connection (streamed bodies only). */
  private readonly queuedBodies = new Map<UpstreamCall, (Buffer | null)[]>();
  private retired = false;
  /** Closes connections idle for idleMs; runs only while some are idle. */
  private sweeper: NodeJS.Timeout | null = null;

  constructor(public options: PoolOptions) {}

  get connections(): number {
    return this.all.size;
  }

  request(sink: CallSink, method: string, path: string, headers: string[], body: Buffer | null, chunked: boolean): UpstreamCall {
    const call = new UpstreamCall(this, sink, method, path, headers, body, chunked);
    const conn = this.idle.pop();
    if (conn !== undefined) conn.assign(call);
    else if (this.all.size < this.options.maxConnections) this.open().assign(call);
    else this.waiting.push(call);
    return call;
  }

  release(conn: Connection, reusable: boolean): void {
    if (!reusable || this.retired) {
      this.all.delete(conn);
      conn.destroy();
      this.serveWaiting();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.assign(conn, next);
      return;
    }
    conn.idleSince = performance.now();
    this.idle.push(conn);
    if (this.sweeper === null) this.startSweeper();
  }

  /** Closes the connections idle for idleMs or longer (the oldest are first in `idle`). */
  sweepIdle(now: number): void {
    let expired = 0;
    while (expired < this.idle.length && now - this.idle[expired]!.idleSince >= this.options.idleMs) expired++;
    for (const conn of this.idle.splice(0, expired)) {
      this.all.delete(conn);
      conn.destroy();
    }
    if (this.idle.length === 0) this.stopSweeper();
  }

  /**
   * Checks a few times per idleMs (so a connection closes between idleMs and 1.25 idleMs after
   * its last response), at least every second, at most every 10 ms.
   */
  private startSweeper(): void {
    const ms = Math.max(10, Math.min(1000, Math.floor(this.options.idleMs / 4)));
    this.sweeper = setInterval(sweepPool, ms, this);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** A connection closed or failed: drop it, and let a waiting call open a new one. */
  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.serveWaiting();
  }

  dequeue(call: UpstreamCall): void {
    const i = this.waiting.indexOf(call);
    if (i >= 0) this.waiting.splice(i, 1);
    this.queuedBodies.delete(call);
  }

  /** Holds streamed body parts of a call that has no connection yet (null marks the end). */
  queueBody(call: UpstreamCall, chunk: Buffer | null): boolean {
    let parts = this.queuedBodies.get(call);
    if (!parts) this.queuedBodies.set(call, (parts = []));
    parts.push(chunk);
    return false; // ask the writer to wait for onRequestDrain
  }

  /** Stops pooling: idle connections close now, busy ones after their request. */
  retire(): void {
    this.retired = true;
    this.stopSweeper();
    for (const conn of this.idle.splice(0)) {
      this.all.delete(conn);
      conn.destroy();
    }
  }

  destroy(): void {
    this.retired = true;
    this.stopSweeper();
    for (const call of this.waiting.splice(0)) call.sink?.onFailure(call, Failure.ConnectFailure);
    for (const conn of [...this.all]) conn.destroy();
  }

  private open(): Connection {
    const conn = new Connection(this);
    this.all.add(conn);
    return conn;
  }

  private assign(conn: Connection, call: UpstreamCall): void {
    conn.assign(call);
    const parts = this.queuedBodies.get(call);
    if (parts === undefined) return;
    this.queuedBodies.delete(call);
    for (const part of parts) {
      if (part === null) call.end();
      else call.write(part);
    }
    if (call.sink && parts.at(-1) !== null) call.sink.onRequestDrain(call);
  }

  private serveWaiting(): void {
    while (this.waiting.length > 0 && this.all.size < this.options.maxConnections) {
      this.assign(this.open(), this.waiting.shift()!);
    }
  }
}

function sweepPool(pool: Pool): void {
  pool.sweepIdle(performance.now());
}
