/**
 * A lean HTTP/1.1 server on already-accepted `net`/`tls` sockets, in place of node's http.Server
 * for the listeners. Per request node builds an IncomingMessage and a ServerResponse (two full
 * streams) and resets socket timers on every read and write; measured, that machinery cost about
 * as much CPU as a whole raw-socket "hello world". Here a request is two small event emitters
 * with just the surface forward.ts and upgrade.ts use, requests are parsed by h1request.ts
 * (strict), and all timeouts are checked by one sweep per server instead of per-socket timers.
 *
 * What it keeps from node's server: keep-alive and pipelining (one request at a time per
 * connection, the next one is parsed once the response is finished), request body streaming
 * with backpressure (req.pause/resume), response framing (Content-Length as given, chunked
 * otherwise, close-delimited for HTTP/1.0), `Expect: 100-continue`, upgrades and CONNECT handed
 * to their handlers with the raw socket, a Date header, and the timeouts:
 * - headersTimeout: the request head must be complete this long after it started (408);
 * - requestTimeout: the whole request (head and body) within this (408, or cut if answering);
 * - keepAliveTimeout: an idle connection between requests is closed;
 * - timeout: a connection silent in both directions during a request goes to `onIdle`.
 * Malformed requests get 400 (431 for the header limits) and the connection is closed.
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ChunkedDecoder, ChunkedError, equalsLower } from './h1common.js';
import { parseRequestHead, RequestError, type ParsedRequest, type RequestHeadLimits } from './h1request.js';

export interface H1Settings extends RequestHeadLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Inactivity during a request (reads and writes), handed to onIdle. */
  idleTimeoutMs: number;
}

export interface H1Handlers {
  onRequest(req: H1Request, res: H1Response): void;
  /** An Upgrade request: the socket is the handler's from now on; `head` holds bytes read past the request head. */
  onUpgrade(req: H1Request, socket: Socket, head: Buffer): void;
  /** A CONNECT request: the socket is the handler's. */
  onConnect(req: H1Request, socket: Socket): void;
  /** The connection was silent for idleTimeoutMs during a request; the handler decides (destroy or not). */
  onIdle(socket: Socket): void;
}

const enum Phase {
  /** Waiting for (or reading) a request head. */
  Head,
  /** Reading a Content-Length body. */
  Fixed,
  /** Reading a chunked body. */
  Chunked,
  /** Gone: closed, closing, or handed over (upgrade). */
  Closed,
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const CHUNKED_END = '0\r\n\r\n';
/** Bodies up to this size are copied next to the response head and written with it. */
const SMALL_BODY = 4096;
const SWEEP_MIN_MS = 50;
const SWEEP_MAX_MS = 1000;

export class H1Server {
  private readonly connections = new Set<H1Connection>();
  private sweeper: NodeJS.Timeout | null = null;
  /** Every further response closes its connection (drain, or replaced by a reload). */
  retired = false;

  constructor(
    public settings: H1Settings,
    readonly handlers: H1Handlers,
  ) {
    this.startSweeper();
  }

  /** Serves a connected socket (plain, or TLS after its handshake). */
  handle(socket: Socket): void {
    const conn = new H1Connection(this, socket);
    this.connections.add(conn);
  }

  /** New timeouts and limits; they apply to what happens from now on. */
  update(settings: H1Settings): void {
    this.settings = settings;
    this.startSweeper();
  }

  /** With `retired`: idle connections are closed once silent this long (null: at once). */
  retiredIdleMs: number | null = null;

  /**
   * Every further response asks the client to close. Idle connections are closed now, or, with
   * `idleGraceMs`, once they have been silent that long: a keep-alive client may have a request on
   * the wire at this very moment, and closing under it loses that request (a reload must lose
   * none). A busy client gets its next answer with `Connection: close` instead.
   */
  retire(idleGraceMs: number | null = null): void {
    this.retired = true;
    this.retiredIdleMs = idleGraceMs;
    if (idleGraceMs === null) this.closeIdleConnections();
    if (this.connections.size === 0) this.close();
  }

  /** Closes connections that are between requests. */
  closeIdleConnections(): void {
    for (const conn of this.connections) if (conn.idle) conn.socket.destroy();
  }

  /** Stops the timeout sweep (connections still open keep being served). */
  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  forget(conn: H1Connection): void {
    this.connections.delete(conn);
    if (this.retired && this.connections.size === 0) this.close(); // nothing left to time out
  }

  private startSweeper(): void {
    this.close();
    const s = this.settings;
    const ms = Math.max(SWEEP_MIN_MS, Math.min(SWEEP_MAX_MS, Math.floor(Math.min(s.headersTimeoutMs, s.requestTimeoutMs, s.idleTimeoutMs, s.keepAliveTimeoutMs) / 2)));
    this.sweeper = setInterval(() => this.sweep(), ms);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.connections) conn.checkTimeouts(now, this.settings);
  }
}

/** The request as forward.ts and upgrade.ts see it (a subset of node's IncomingMessage). */
export class H1Request extends EventEmitter {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  /** The whole body has been received. */
  complete = false;
  /** Same as complete (node's name for "end was emitted"). */
  readableEnded = false;

  constructor(
    private readonly conn: H1Connection,
    head: ParsedRequest,
  ) {
    super();
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.httpVersion = head.minor === 1 ? '1.1' : '1.0';
  }

  get socket(): Socket {
    return this.conn.socket;
  }

  /** Stop delivering body data (backpressure). */
  pause(): this {
    this.conn.pauseBody(this);
    return this;
  }

  resume(): this {
    this.conn.resumeBody(this);
    return this;
  }
}

/** The response as forward.ts sees it (a subset of node's ServerResponse, raw header arrays only). */
export class H1Response extends EventEmitter {
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  /** Status line and headers, written together with the first body bytes. */
  private head: string | null = null;
  private chunked = false;
  private hasBody = true;
  /** The connection ends after this response. */
  closeAfter: boolean;
  private waitingDrain = false;

  constructor(
    private readonly conn: H1Connection,
    readonly req: H1Request,
    private readonly minor: 0 | 1,
    keepAlive: boolean,
  ) {
    super();
    this.closeAfter = !keepAlive;
  }

  writeHead(status: number, headers: readonly string[]): this {
    if (this.headersSent) throw new Error('headers already sent');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status ${status}`);
    let head = statusLine(status);
    let hasLength = false;
    let hasDate = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      switch (name.length) {
        case 4:
          if (equalsLower(name, 'date')) hasDate = true;
          break;
        case 10:
          if (equalsLower(name, 'connection') && /(?:^|,)\s*close\s*(?:,|$)/i.test(value)) this.closeAfter = true;
          break;
        case 14:
          if (equalsLower(name, 'content-length')) hasLength = true;
          break;
      }
      head += `${name}: ${value}\r\n`;
    }
    if (!hasDate) head += `date: ${httpDate()}\r\n`;
    this.hasBody = this.req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
    if (this.hasBody && !hasLength) {
      if (this.minor === 1) {
        this.chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      } else {
        this.closeAfter = true; // HTTP/1.0: the body ends when the connection does
      }
    }
    if (this.conn.server.retired) this.closeAfter = true;
    if (this.closeAfter) {
      if (!/\r\nconnection: *close\r\n/i.test(head)) head += 'connection: close\r\n';
    } else if (this.minor === 0) {
      head += 'connection: keep-alive\r\n';
    }
    this.head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  get writableLength(): number {
    return this.conn.socket.writableLength;
  }

  /** Writes body bytes; false means wait for 'drain'. */
  write(chunk: Buffer): boolean {
    if (this.destroyed || this.writableFinished) return false;
    const socket = this.conn.socket;
    this.conn.touch();
    if (!this.hasBody || chunk.length === 0) {
      this.flushHead();
      return true;
    }
    let ok: boolean;
    if (this.head !== null && !this.chunked && chunk.length <= SMALL_BODY) {
      // Head and a small body in one buffer: one plain write instead of a writev of two pieces.
      const head = this.head;
      this.head = null;
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.write(head, 0, 'latin1');
      chunk.copy(out, head.length);
      ok = socket.write(out);
    } else if (this.chunked || this.head !== null) {
      socket.cork();
      this.flushHead();
      if (this.chunked) socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      ok = socket.write(chunk);
      if (this.chunked) ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      ok = socket.write(chunk);
    }
    if (!ok && !this.waitingDrain) {
      this.waitingDrain = true;
      socket.once('drain', () => {
        this.waitingDrain = false;
        this.emit('drain');
      });
    }
    return ok;
  }

  /** Finishes the response, with an optional last piece of body (local answers; latin1 text). */
  end(body?: string): void {
    if (this.destroyed || this.writableFinished) return;
    if (!this.headersSent) this.writeHead(200, []);
    const socket = this.conn.socket;
    let out = this.head ?? '';
    this.head = null;
    if (body !== undefined && body.length > 0 && this.hasBody) {
      out += this.chunked ? `${body.length.toString(16)}\r\n${body}\r\n` : body;
    }
    if (this.chunked) out += CHUNKED_END;
    if (out.length > 0) socket.write(out, 'latin1');
    this.writableFinished = true;
    this.conn.responseFinished(this);
  }

  /** Cuts the exchange: the connection is closed (the client sees a truncated response). */
  destroy(): void {
    if (this.destroyed) return;
    this.conn.socket.destroy();
  }

  /** The connection is gone before the response finished. */
  aborted(): void {
    if (this.destroyed || this.writableFinished) return;
    this.destroyed = true;
    this.emit('close');
  }

  private flushHead(): void {
    if (this.head !== null) {
      this.conn.socket.write(this.head, 'latin1');
      this.head = null;
    }
  }
}

export class H1Connection {
  private phase = Phase.Head;
  /** Unparsed bytes: buf[pos..]. */
  private buf: Buffer | null = null;
  private pos = 0;
  private req: H1Request | null = null;
  private res: H1Response | null = null;
  /** Bytes of a Content-Length body still to come. */
  private remaining = 0;
  private readonly decoder: ChunkedDecoder;
  private bodyPaused = false;
  private parsing = false;
  /** Bytes of an incomplete head already searched for its end. */
  private headScanned = 0;
  /** The client half-closed its side: no more requests will come. */
  private clientDone = false;
  /** When the current request head started (0: no request started: idle between requests). */
  private headStartedAt: number;
  private requestStartedAt = 0;
  private lastActivity: number;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => this.clientEnded();
  private readonly onClose = () => this.closed();

  constructor(
    readonly server: H1Server,
    readonly socket: Socket,
  ) {
    this.lastActivity = this.headStartedAt = performance.now(); // the first request "starts" at connect
    this.decoder = new ChunkedDecoder((chunk) => this.deliver(chunk));
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', noop); // followed by 'close'
  }

  /** No request in progress and nothing received of the next one (new connections included). */
  get idle(): boolean {
    return this.phase === Phase.Head && this.res === null && this.buf === null;
  }

  touch(): void {
    this.lastActivity = performance.now();
  }

  private receive(chunk: Buffer): void {
    this.lastActivity = performance.now();
    if (this.buf === null || this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
      this.pos = 0;
    }
    this.parse();
  }

  /** Parses as far as the state allows: one request at a time, body delivery paused on backpressure. */
  private parse(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (this.buf !== null && this.pos < this.buf.length) {
        if (this.phase === Phase.Head) {
          if (this.res !== null) {
            // Pipelined request: wait until the current response is finished; stop reading meanwhile.
            this.socket.pause();
            return;
          }
          // lastActivity: the time of the read that brought these bytes (one clock read per read)
          if (this.headStartedAt === 0) this.headStartedAt = this.lastActivity;
          const result = parseRequestHead(this.buf, this.pos, this.server.settings, this.headScanned);
          if (result === null) {
            this.headScanned = this.buf.length - this.pos;
            return;
          }
          this.pos = result.end;
          this.headScanned = 0;
          this.headStartedAt = 0;
          this.startRequest(result.request);
        } else if (this.phase === Phase.Fixed) {
          if (this.bodyPaused) return;
          const n = Math.min(this.remaining, this.buf.length - this.pos);
          const chunk = this.buf.subarray(this.pos, (this.pos += n));
          this.remaining -= n;
          this.deliver(chunk);
          if (this.remaining === 0) this.bodyComplete();
        } else if (this.phase === Phase.Chunked) {
          if (this.bodyPaused) return;
          const next = this.decoder.step(this.buf, this.pos);
          const progressed = next !== this.pos;
          this.pos = next;
          if (this.decoder.done) this.bodyComplete();
          else if (!progressed) return;
        } else {
          return; // closed or handed over
        }
      }
    } catch (err) {
      if (err instanceof RequestError) this.reject(err.status);
      else if (err instanceof ChunkedError) this.reject(400);
      else throw err;
    } finally {
      this.parsing = false;
      if (this.buf !== null && this.pos >= this.buf.length) this.buf = null;
    }
  }

  private startRequest(head: ParsedRequest): void {
    const req = new H1Request(this, head);
    if (head.method === 'CONNECT') {
      this.handOver();
      this.server.handlers.onConnect(req, this.socket);
      return;
    }
    if (head.upgrade) {
      const rest = this.buf!.subarray(this.pos);
      this.handOver();
      req.complete = req.readableEnded = true;
      this.server.handlers.onUpgrade(req, this.socket, Buffer.from(rest));
      return;
    }
    if (head.expect !== null) {
      if (head.expect !== '100-continue' || head.minor === 0) {
        this.reject(417);
        return;
      }
      this.socket.write(CONTINUE, 'latin1');
    }
    const res = new H1Response(this, req, head.minor, head.keepAlive);
    this.req = req;
    this.res = res;
    this.requestStartedAt = this.lastActivity; // the time of the read that completed the head
    if (head.chunked) {
      this.decoder.reset();
      this.phase = Phase.Chunked;
    } else if (head.contentLength > 0) {
      this.remaining = head.contentLength;
      this.phase = Phase.Fixed;
    } else {
      req.complete = req.readableEnded = true;
    }
    this.server.handlers.onRequest(req, res);
  }

  private deliver(chunk: Buffer): void {
    this.req?.emit('data', chunk);
  }

  private bodyComplete(): void {
    this.phase = Phase.Head;
    const req = this.req!;
    req.complete = req.readableEnded = true;
    req.emit('end');
  }

  pauseBody(req: H1Request): void {
    if (req !== this.req || req.complete) return;
    this.bodyPaused = true;
    this.socket.pause();
  }

  resumeBody(req: H1Request): void {
    if (req !== this.req || !this.bodyPaused) return;
    this.bodyPaused = false;
    if (this.phase !== Phase.Closed) this.socket.resume();
    this.parse();
  }

  /** The response is complete: close, or go on with the next request. */
  responseFinished(res: H1Response): void {
    if (res !== this.res) return;
    this.res = null;
    this.lastActivity = performance.now();
    res.emit('close');
    if (res.closeAfter || this.phase === Phase.Closed) {
      this.closeSoon();
      return;
    }
    const req = this.req!;
    if (!req.complete) {
      // Answered before the whole body arrived (the upstream did not wait for it): read and drop
      // the rest so the next request can be parsed, as node does.
      req.removeAllListeners('data');
      this.resumeBody(req);
      return;
    }
    this.req = null;
    if (this.buf === null && this.clientDone) {
      this.closeSoon();
    } else if (this.buf !== null) {
      // Pipelined bytes are waiting: go on after the caller's stack has unwound (the upstream
      // connection that produced this response is released there and can then be reused).
      process.nextTick(resumeAfterResponse, this);
    } else {
      this.socket.resume();
    }
  }

  continueParsing(): void {
    if (this.phase === Phase.Closed || this.res !== null) return;
    this.socket.resume();
    this.parse();
    if (this.clientDone && this.res === null && this.phase === Phase.Head) this.closeSoon();
  }

  private keepAliveTimeoutMs(s: H1Settings): number {
    const grace = this.server.retired ? this.server.retiredIdleMs : null;
    return grace === null ? s.keepAliveTimeoutMs : Math.min(grace, s.keepAliveTimeoutMs);
  }

  /** Timeouts, checked by the server's sweep. */
  checkTimeouts(now: number, s: H1Settings): void {
    if (this.phase === Phase.Closed) return;
    if (this.res === null && this.phase === Phase.Head) {
      if (this.headStartedAt !== 0) {
        if (now - this.headStartedAt > s.headersTimeoutMs) this.reject(408);
      } else if (now - this.lastActivity > this.keepAliveTimeoutMs(s)) {
        this.socket.destroy();
      }
      return;
    }
    const req = this.req;
    if (req !== null && !req.complete && now - this.requestStartedAt > s.requestTimeoutMs) {
      if (this.res !== null && !this.res.headersSent) this.reject(408);
      else this.socket.destroy();
      return;
    }
    if (this.res !== null && now - this.lastActivity > s.idleTimeoutMs) {
      this.lastActivity = now; // the handler may keep the connection (waiting for the upstream)
      this.server.handlers.onIdle(this.socket);
    }
  }

  /** Answers the current (or unparseable) request from here and closes the connection. */
  private reject(status: number): void {
    const res = this.res;
    this.phase = Phase.Closed;
    this.socket.removeListener('data', this.onData);
    if (res !== null && res.headersSent) {
      this.socket.destroy();
      return;
    }
    const reason = STATUS_CODES[status] ?? 'Error';
    this.socket.write(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, 'latin1');
    this.closeSoon();
    // A request the handler was working on is over for it (as if the client had gone away).
    res?.aborted();
  }

  /** The socket now belongs to an upgrade or CONNECT handler. */
  private handOver(): void {
    this.phase = Phase.Closed;
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onClose);
    // The no-op 'error' listener stays: a socket error must never become an uncaught exception.
    this.socket.pause(); // nothing is lost until the handler reads (pipe() resumes)
    this.buf = null;
    this.server.forget(this);
  }

  /** Ends the connection once what was written is flushed (node's destroySoon). */
  private closeSoon(): void {
    this.phase = Phase.Closed;
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    if (socket.destroyed) return;
    socket.end();
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  }

  /** The client half-closed: finish what is in progress, then close. */
  private clientEnded(): void {
    this.clientDone = true;
    if (this.req !== null && !this.req.complete) {
      this.socket.destroy(); // the request body was cut short
    } else if (this.res === null) {
      this.closeSoon(); // between requests, or an unfinished head that can no longer complete
    }
    // else: finish the response (and any pipelined requests), then close (responseFinished)
  }

  private closed(): void {
    this.phase = Phase.Closed;
    this.server.forget(this);
    this.res?.aborted();
    this.res = null;
    this.req = null;
    this.buf = null;
  }
}

/** `HTTP/1.1 200 OK\r\n` and the like, built once per status code. */
const statusLines: string[] = [];

function statusLine(status: number): string {
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

function resumeAfterResponse(conn: H1Connection): void {
  conn.continueParsing();
}

function noop(): void {}

let dateCache = '';
let dateCachedAt = 0;

/** The Date header value, recomputed at most once per second. */
function httpDate(): string {
  const now = Date.now();
  if (now - dateCachedAt >= 1000) {
    dateCachedAt = now - (now % 1000);
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}
