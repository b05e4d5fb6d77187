/**
 * Forwarding one HTTP request: admission (rate limit, circuit breaker), attempts with retries and
 * timeouts, and streaming of both bodies.
 *
 * Performance notes, since this runs for every request:
 * - One Exchange object holds the whole state of a request and is itself the sink of the upstream
 *   call (pool.ts), so no closures are created per request. Client-side event handlers are
 *   module-level functions that find their Exchange through a symbol property on the emitter;
 *   timers get the Exchange as their argument for the same reason.
 * - Bodies are pumped by hand (write, pause on backpressure, resume on drain) rather than with
 *   pipe(), which registers half a dozen listeners per stream and cannot count bytes.
 * - Headers stay node's flat raw arrays end to end (see headers.ts).
 *
 * Retry safety: an attempt is only repeated when the request can be sent again unchanged: no body,
 * or a body small enough to be buffered in full (limits.retryBufferBytes), and an idempotent
 * method unless the client opted in with `x-sidecarctl-retry: true`. Streamed bodies get exactly
 * one attempt. Nothing is retried once the response has started reaching the client.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AccessLog } from './accesslog.js';
import { afterFailure, arm, disarm, mayRetry, releaseRetryToken, retryAfterBackoff, type AttemptState } from './attempts.js';
import { Admission, ADMISSION_REASON } from './breaker.js';
import type { ResolvedListenerConfig } from './config.js';
import { responseHeaders, scanRequestHeaders, type RequestHead } from './headers.js';
import type { ListenerMetrics } from './metrics.js';
import type { Call, CallSink } from './pool.js';
import type { TokenBucket } from './ratelimit.js';
import { Failure, FAILURE_NAME, isIdempotent, type RetryBudget, type RetryPolicy } from './retry.js';
import type { Upstream } from './upstream.js';

/** Everything a listener's current config implies; replaced as a whole on reload. */
export interface Route {
  readonly config: ResolvedListenerConfig;
  readonly upstream: Upstream;
  readonly limiter: TokenBucket | null;
  readonly retry: RetryPolicy;
  /** Host header for requests that came without one (HTTP/1.0 clients). */
  readonly defaultHost: string;
}

/** Per-listener state that outlives config reloads. */
export interface ListenerState {
  readonly name: string;
  route: Route;
  readonly budget: RetryBudget;
  readonly metrics: ListenerMetrics;
  readonly accessLog: AccessLog;
  /** Shutting down: responses carry `Connection: close`. */
  draining: boolean;
}

/**
 * The request as the listener's HTTP server presents it: what both node's IncomingMessage and
 * h1server's H1Request provide (see frontend.ts for the switch between them).
 */
export interface InboundRequest extends EventEmitter {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** The whole body has been received. */
  readonly complete: boolean;
  readonly readableEnded: boolean;
  pause(): unknown;
  resume(): unknown;
}

/** The response side, with raw header arrays (node's ServerResponse or h1server's H1Response). */
export interface InboundResponse extends EventEmitter {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  /** Bytes written but not yet handed to the kernel (the chunk of a queued write is still held). */
  readonly writableLength: number;
  writeHead(status: number, headers: string[]): unknown;
  write(chunk: Buffer): boolean;
  end(body?: string): unknown;
  destroy(): unknown;
}

export const kExchange = Symbol('sidecarctl.exchange');

type Tagged<T> = T & { [kExchange]?: Exchange | null };

const EMPTY: string[] = [];

export function handleRequest(state: ListenerState, req: InboundRequest, res: InboundResponse): void {
  new Exchange(state, state.route, req, res).start();
}

class Exchange implements RequestHead, CallSink, AttemptState {
  // Filled by scanRequestHeaders.
  upstreamHeaders = EMPTY;
  contentLength = -1;
  chunked = false;
  requestId = '';
  retryOptIn = false;
  duplicateHost = false;

  readonly startedAt = performance.now();
  readonly deadline: number;
  attempts = 0;
  status = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** Why the proxy answered or cut the exchange itself; null when the upstream answered. */
  error: string | null = null;

  /** The request may be sent again: body empty or fully buffered, and method safe to repeat. */
  replayable = false;
  /** The request body is piped through as it arrives (not replayable). */
  streaming = false;
  /** Request body chunks while buffering it for retries. */
  chunks: Buffer[] | null = null;
  /** The whole request body once buffered (or an empty one). */
  body: Buffer | null = null;

  /** The attempt in progress, if any. */
  call: Call | null = null;
  /** The one pending timer: attempt timeout, request deadline or retry back-off. */
  timer: NodeJS.Timeout | null = null;
  /** Waiting for response headers (client-side idle timeouts do not apply then). */
  awaitingUpstream = false;
  /** This request holds a retry budget slot. */
  retryToken = false;
  /** This request is the circuit breaker's half-open probe. */
  probe = false;
  /** The keep-alive race (a reused pooled connection reset before answering) was already retried. */
  poolRetried = false;
  /** The response has begun (forwarded or local): no more attempts. */
  responding = false;
  /**
   * The upstream's status and headers, held until its first body bytes (or its end) arrive: a
   * body that turns out malformed at once (an invalid first chunk size) then still gets a clean
   * 502 instead of a 200 with nothing behind it.
   */
  pendingStatus = 0;
  pendingHeaders: string[] = EMPTY;

  constructor(
    readonly state: ListenerState,
    readonly route: Route,
    readonly req: InboundRequest,
    readonly res: InboundResponse,
  ) {
    this.deadline = this.startedAt + route.config.timeouts.requestMs;
  }

  start(): void {
    const { req, res, route, state } = this;
    (res as Tagged<InboundResponse>)[kExchange] = this;
    res.on('close', onResponseClose);
    state.budget.activeRequests++;

    const socket = req.socket as Tagged<TLSSocket>;
    socket[kExchange] = this; // for the listener's idle-timeout handler
    scanRequestHeaders(
      req.rawHeaders,
      this,
      socket.remoteAddress ?? '',
      socket.encrypted ? 'https' : 'http',
      route.config.hostRewrite,
      route.defaultHost,
      false,
    );

    const url = req.url!;
    if (url.charCodeAt(0) !== 0x2f /* / */ && !(url === '*' && req.method === 'OPTIONS')) {
      return this.local(400, 'absolute-form-rejected');
    }
    if (this.duplicateHost) return this.local(400, 'duplicate-host');
    // Our server (h1server.ts) answers 431 itself; with node's server (frontend.ts switch),
    // maxHeadersCount is set one above the limit, so that node keeps one extra header and an
    // oversized request shows (node would otherwise silently drop the extra headers).
    if (req.rawHeaders.length > route.config.limits.maxHeaders * 2) return this.local(431, 'too-many-headers');
    const maxBody = route.config.limits.maxBodyBytes;
    if (maxBody !== null && this.contentLength > maxBody) return this.local(413, 'body-too-large');

    if (route.limiter !== null) {
      const retryAfter = route.limiter.take(this.startedAt);
      if (retryAfter > 0) {
        state.metrics.rateLimited++;
        return this.local(429, 'rate-limited', ['retry-after', String(retryAfter)]);
      }
    }

    const admission = route.upstream.breaker.admit(this.startedAt);
    if (admission > Admission.Probe) {
      const reason = ADMISSION_REASON[admission];
      route.upstream.metrics.countOverflow(reason);
      return this.local(503, reason, ['x-sidecarctl-overflow', reason]);
    }
    this.probe = admission === Admission.Probe;

    const safe = isIdempotent(req.method!) || this.retryOptIn;
    if (this.contentLength <= 0 && !this.chunked) {
      this.replayable = safe;
      this.body = EMPTY_BODY;
      this.attempt(this.startedAt);
    } else if (
      safe &&
      route.retry.attempts > 1 &&
      this.contentLength >= 0 &&
      this.contentLength <= route.config.limits.retryBufferBytes
    ) {
      // Small body and retries wanted: read it all first so every attempt can send it.
      this.replayable = true;
      this.chunks = [];
      (req as Tagged<InboundRequest>)[kExchange] = this;
      req.on('data', onBufferedBodyData);
      req.on('end', onBufferedBodyEnd);
      this.arm(this.deadline - this.startedAt, onDeadline);
    } else {
      this.streaming = true;
      (req as Tagged<InboundRequest>)[kExchange] = this;
      req.on('data', onStreamedBodyData);
      req.on('end', onStreamedBodyEnd);
      this.attempt();
    }
  }

  /** Sends the request to the upstream once (`now`: the caller's clock reading, if it has one). */
  attempt(now = performance.now()): void {
    const { route, req } = this;
    this.attempts++;
    route.upstream.breaker.inflight++;
    this.awaitingUpstream = true;
    // A streamed body of unknown length goes upstream chunked; scanRequestHeaders already added
    // the Transfer-Encoding header for it.
    this.call = route.upstream.request(this, req.method!, req.url!, this.upstreamHeaders, this.body, this.chunked && this.contentLength < 0);
    if (this.streaming && req.readableEnded) this.call.end();

    const left = this.deadline - now;
    const perTry = route.retry.perTryTimeoutMs;
    if (perTry !== null && perTry < left) this.arm(perTry, onTryTimeout);
    else this.arm(left, onDeadline);
  }

  // ------------------------------------------------------------------------------------------
  // CallSink: events of the current attempt (the pool never reports a call we gave up on)
  // ------------------------------------------------------------------------------------------

  /** Response headers arrived: retry, or start forwarding. */
  onResponse(call: Call, status: number, rawHeaders: string[]): void {
    this.disarm();
    this.awaitingUpstream = false;
    const now = performance.now();
    this.route.upstream.breaker.record(status < 500, this.probe, now);
    this.probe = false;
    this.releaseRetryToken();

    if (this.mayRetry(this.route.retry.retriableStatus(status))) {
      call.discard(); // read and drop the body so the connection can go back to the pool
      this.endAttempt();
      this.retryAfterBackoff(now);
      return;
    }
    this.responding = true;
    this.status = status;
    this.pendingStatus = status;
    this.pendingHeaders = responseHeaders(rawHeaders, false, this.state.draining);
  }

  /** Sends the held response head; false when the server refused it (then the client got a 502). */
  flushHead(): boolean {
    const status = this.pendingStatus;
    if (status === 0) return true;
    this.pendingStatus = 0;
    try {
      this.res.writeHead(status, this.pendingHeaders);
    } catch {
      // the server refuses something the upstream sent (an invalid status)
      this.abandonAttempt();
      this.local(502, 'upstream-invalid-response');
      return false;
    }
    this.pendingHeaders = EMPTY;
    return true;
  }

  onResponseData(call: Call, chunk: Buffer): boolean {
    if (this.pendingStatus !== 0 && !this.flushHead()) return false;
    this.bytesSent += chunk.length;
    const res = this.res;
    if (res.write(chunk)) return res.writableLength > 0;
    // Backpressure: the client reads slower than the upstream sends. Nothing more is read from
    // the upstream until the client has taken what is queued, so a slow reader holds at most
    // one read buffer and the socket's high-water mark.
    call.pause();
    res.once('drain', onResponseDrain);
    return true;
  }

  onResponseEnd(): void {
    this.endAttempt();
    if (this.pendingStatus !== 0 && !this.flushHead()) return;
    this.res.end();
  }

  onResponseAborted(): void {
    this.endAttempt();
    if (this.pendingStatus !== 0) {
      // Broken before any body byte (a malformed first chunk, a reset): nothing reached the
      // client yet, so it gets an honest 502, and the upstream is charged with the failure.
      this.pendingStatus = 0;
      this.route.upstream.breaker.record(false, false, performance.now());
      this.local(502, 'upstream-invalid-response');
      return;
    }
    // Reset in the middle of the response body: the client must not get a truncated body that
    // looks complete, so its connection is cut too.
    this.error = 'upstream-reset';
    this.res.destroy();
  }

  onRequestDrain(): void {
    this.req.resume();
  }

  /** The attempt failed without a response. */
  onFailure(call: Call, failure: Failure): void {
    this.disarm();
    this.awaitingUpstream = false;
    this.endAttempt();
    const next = afterFailure(this, call, failure, this.replayable, this.res.destroyed, onBackoffDone);
    if (next === 'again') this.attempt();
    else if (next !== 'later') this.local(next, `upstream-${FAILURE_NAME[failure]}`);
  }

  // ------------------------------------------------------------------------------------------

  /** A streamed request body is still arriving: a timeout now is the client's, not the upstream's. */
  clientStillSending(): boolean {
    return this.streaming && !this.req.complete;
  }

  /** Whether to try again; takes a retry budget slot when the answer is yes. */
  mayRetry(retriable: boolean): boolean {
    return mayRetry(this, retriable, this.replayable, this.res.destroyed);
  }

  retryAfterBackoff(now: number): void {
    retryAfterBackoff(this, now, onBackoffDone);
  }

  releaseRetryToken(): void {
    releaseRetryToken(this);
  }

  /** The current attempt is over: free its breaker slot. */
  endAttempt(): void {
    if (this.call === null) return;
    this.call = null;
    this.route.upstream.breaker.inflight--;
    if (this.streaming && !this.req.readableEnded) {
      // The upstream is done with us; keep reading (and dropping) the client's body so it is not stuck.
      this.req.resume();
    }
  }

  /** Gives up on the current attempt (timeout, client gone) and closes its connection. */
  abandonAttempt(): void {
    const call = this.call;
    if (call === null) return;
    this.endAttempt();
    call.abort();
  }

  /** Answers the client from the proxy itself. */
  local(status: number, reason: string, extra: string[] = EMPTY): void {
    this.disarm();
    this.awaitingUpstream = false;
    this.responding = true;
    this.error = reason;
    this.status = status;
    this.pendingStatus = 0;
    const res = this.res;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = `${reason}\n`;
    const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), ...extra];
    // An unread request body would otherwise be read and discarded by node after the response;
    // closing is cheaper and safer than draining an arbitrary amount of data.
    if (this.state.draining || !this.req.complete) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  }

  arm(ms: number, fn: (ex: Exchange) => void): void {
    arm(this, ms, fn);
  }

  disarm(): void {
    disarm(this);
  }

  /** The response is over (sent, or the client went away): release everything and log. */
  finish(): void {
    const { res, route, state } = this;
    this.disarm();
    if (!res.writableFinished) {
      // The client closed early, or we cut the response: stop the upstream side too.
      this.abandonAttempt();
      if (this.status === 0) this.status = 499; // nginx's "client closed request"
      this.error ??= this.responding ? 'response-aborted' : 'client-closed';
    }
    if (this.probe) route.upstream.breaker.releaseProbe();
    this.releaseRetryToken();
    const socket = this.req.socket as Tagged<TLSSocket> | null;
    if (socket && socket[kExchange] === this) socket[kExchange] = null;
    state.budget.activeRequests--;
    const durationMs = performance.now() - this.startedAt;
    route.upstream.metrics.observe(this.status, durationMs / 1000);
    state.accessLog.write({
      listener: state.name,
      method: this.req.method!,
      path: this.req.url!,
      status: this.status,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs,
      upstream: route.upstream.id,
      attempts: this.attempts,
      requestId: this.requestId,
      error: this.error,
    });
  }
}

const EMPTY_BODY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------
// Client-side event handlers (module-level: `this` is the emitter, the Exchange is found through
// kExchange) and timers (the Exchange is the argument)
// ---------------------------------------------------------------------------------------------

function onResponseDrain(this: Tagged<InboundResponse>): void {
  this[kExchange]?.call?.resume();
}

function onResponseClose(this: Tagged<InboundResponse>): void {
  this[kExchange]?.finish();
}

function onBufferedBodyData(this: Tagged<InboundRequest>, chunk: Buffer): void {
  const ex = this[kExchange]!;
  ex.bytesReceived += chunk.length;
  ex.chunks?.push(chunk);
}

function onBufferedBodyEnd(this: Tagged<InboundRequest>): void {
  const ex = this[kExchange]!;
  if (ex.responding || ex.chunks === null || ex.res.destroyed) return;
  ex.body = Buffer.concat(ex.chunks, ex.bytesReceived);
  ex.chunks = null;
  ex.disarm();
  ex.attempt();
}

function onStreamedBodyData(this: Tagged<InboundRequest>, chunk: Buffer): void {
  const ex = this[kExchange]!;
  ex.bytesReceived += chunk.length;
  const maxBody = ex.route.config.limits.maxBodyBytes;
  if (maxBody !== null && ex.bytesReceived > maxBody) {
    this.removeListener('data', onStreamedBodyData);
    ex.abandonAttempt();
    ex.local(413, 'body-too-large');
    return;
  }
  const call = ex.call;
  if (call === null) return; // the upstream is done with this request: drop the rest
  if (!call.write(chunk)) this.pause(); // resumed by onRequestDrain
}

function onStreamedBodyEnd(this: Tagged<InboundRequest>): void {
  this[kExchange]!.call?.end();
}

function onTryTimeout(ex: Exchange): void {
  ex.timer = null;
  const call = ex.call!;
  ex.abandonAttempt(); // its connection may be stuck: do not let it back into the pool
  if (ex.clientStillSending()) return ex.local(408, 'client-timeout');
  ex.onFailure(call, Failure.Timeout);
}

function onDeadline(ex: Exchange): void {
  ex.timer = null;
  if (ex.clientStillSending() || !ex.awaitingUpstream) {
    // The client had not sent its whole request when time ran out (a slow or stalled body,
    // streamed or buffered for retries): its fault, never counted against the upstream.
    ex.abandonAttempt();
    ex.local(408, 'client-timeout');
    return;
  }
  ex.abandonAttempt();
  ex.route.upstream.breaker.record(false, ex.probe, performance.now());
  ex.probe = false;
  ex.local(504, 'upstream-timeout');
}

function onBackoffDone(ex: Exchange): void {
  ex.timer = null;
  if (ex.res.destroyed) return;
  ex.attempt();
}
