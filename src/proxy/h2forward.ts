/**
 * Forwarding one HTTP/2 stream (h2c or h2 from the client) to the app: HTTP/1.1 for `http`
 * listeners, HTTP/2 for `http2` and `grpc` ones (Upstream picks the pool). The same policies as
 * forward.ts (rate limit, circuit breaker, attempts, retries with a budget, timeouts), plus:
 *
 * - Trailers are carried from an HTTP/2 upstream to the client (gRPC's status lives there).
 * - The request body is streamed to the upstream as it arrives and, while it fits in
 *   limits.retryBufferBytes, also kept, so that an attempt can be replayed as long as nothing of
 *   the response reached the client. (Holding the body back until its end would deadlock
 *   bidirectional gRPC calls, whose clients wait for an answer before they send more.)
 * - gRPC (`content-type: application/grpc*`): replayable whatever the method (gRPC's retry
 *   design; the retry policy opts in by listing grpc statuses), retried on a trailers-only answer
 *   whose grpc-status the policy lists; `grpc-timeout` bounds the whole call, capped by
 *   timeouts.requestMs (and is rewritten to the capped value upstream); the proxy's own answers
 *   are gRPC statuses in a trailers-only response with HTTP 200, never an HTTP error a gRPC client
 *   cannot read: RESOURCE_EXHAUSTED for the rate limit, UNAVAILABLE for overflow, open circuit,
 *   connect failures and resets, DEADLINE_EXCEEDED for timeouts, INTERNAL for a broken upstream
 *   answer.
 * - A client that resets streams before their response is complete is counted for rapid-reset
 *   protection (h2server.ts).
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { afterFailure, arm, disarm, mayRetry, releaseRetryToken, retryAfterBackoff, type AttemptState } from './attempts.js';
import { Admission, ADMISSION_REASON } from './breaker.js';
import { speaksH2Upstream } from './config.js';
import type { ListenerState, Route } from './forward.js';
import { countClientReset } from './h2server.js';
import { scanRequestHeaders, type RequestHead } from './headers.js';
import type { Call, CallSink } from './pool.js';
import { Failure, FAILURE_NAME, isIdempotent } from './retry.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
const EMPTY: string[] = [];
const EMPTY_BODY = Buffer.alloc(0);

/** gRPC status codes the proxy uses or retries on (grpc/grpc doc/statuscodes.md). */
export const GrpcStatus = {
  Ok: 0,
  Cancelled: 1,
  DeadlineExceeded: 4,
  ResourceExhausted: 8,
  Internal: 13,
  Unavailable: 14,
} as const;

/** The gRPC status for each of the proxy's own answers (by the HTTP status it gives HTTP clients). */
function grpcStatusFor(httpStatus: number): number {
  if (httpStatus === 429) return GrpcStatus.ResourceExhausted;
  if (httpStatus === 504 || httpStatus === 408) return GrpcStatus.DeadlineExceeded;
  return httpStatus === 400 || httpStatus === 405 || httpStatus === 413 || httpStatus === 431 ? GrpcStatus.Internal : GrpcStatus.Unavailable;
}

/** Response fields HTTP/2 forbids (RFC 9113 §8.2.2), dropped from HTTP/1.1 upstream answers. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

type Tagged = ServerHttp2Stream & { [kStreamExchange]?: StreamExchange };
const kStreamExchange = Symbol('sidecarctl.streamExchange');

export function handleStream(state: ListenerState, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, endStream: boolean, rawHeaders: string[]): void {
  new StreamExchange(state, state.route, stream, headers, endStream, rawHeaders).start();
}

class StreamExchange implements RequestHead, CallSink, AttemptState {
  // Filled by scanRequestHeaders.
  upstreamHeaders = EMPTY;
  contentLength = -1;
  chunked = false;
  requestId = '';
  retryOptIn = false;
  duplicateHost = false;

  readonly startedAt = performance.now();
  readonly method: string;
  readonly path: string;
  readonly grpc: boolean;
  /** When the whole call must be over (grpc-timeout), or null: requestMs until the response starts. */
  callDeadline: number | null = null;
  deadline: number;
  attempts = 0;
  status = 0;
  grpcStatus: number | null = null;
  bytesReceived = 0;
  bytesSent = 0;
  error: string | null = null;

  /** The client has sent its whole request (END_STREAM). */
  requestEnded: boolean;
  /** The request body so far, kept for replays; null once it outgrew the retry buffer or cannot be replayed. */
  replay: Buffer[] | null = [];
  replayBytes = 0;
  call: Call | null = null;
  timer: NodeJS.Timeout | null = null;
  awaitingUpstream = false;
  retryToken = false;
  probe = false;
  poolRetried = false;
  /** The response has begun (forwarded or local): no more attempts. */
  responding = false;
  /** The upstream's head, held until its first body bytes or its end (see forward.ts). */
  pendingHead: OutgoingHttpHeaders | null = null;
  trailers: OutgoingHttpHeaders | null = null;
  /** Our side of the stream is complete (response and trailers written). */
  completed = false;
  /** The response head asked node for a 'wantTrailers' event (trailers follow the body). */
  trailersPending = false;
  /** Kept: node detaches a stream from its session once the stream is destroyed. */
  readonly session: ServerHttp2Session | undefined;

  constructor(
    readonly state: ListenerState,
    readonly route: Route,
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    endStream: boolean,
    readonly rawHeaders: string[],
  ) {
    this.method = String(headers[':method'] ?? '');
    this.path = String(headers[':path'] ?? '');
    this.grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    this.requestEnded = endStream;
    this.session = stream.session as ServerHttp2Session | undefined;
    this.deadline = this.startedAt + route.config.timeouts.requestMs;
  }

  start(): void {
    const { stream, route, state } = this;
    (stream as Tagged)[kStreamExchange] = this;
    stream.on('close', onStreamClose);
    stream.on('error', noop); // followed by 'close'
    stream.setTimeout(route.config.timeouts.idleMs, onStreamIdle);
    state.budget.activeRequests++;

    if (this.method === 'CONNECT') return this.local(405, 'connect-refused');
    if (this.path.charCodeAt(0) !== 0x2f && !(this.path === '*' && this.method === 'OPTIONS')) return this.local(400, 'invalid-path');
    const limits = route.config.limits;
    if (!withinHeaderLimits(this.rawHeaders, limits.maxHeaders, limits.maxHeaderBytes)) return this.local(431, 'headers-too-large');

    const socket = this.session?.socket as TLSSocket | undefined;
    scanRequestHeaders(
      h1Headers(this.rawHeaders, this.requestEnded),
      this,
      socket?.remoteAddress ?? '',
      socket?.encrypted ? 'https' : 'http',
      route.config.hostRewrite,
      route.defaultHost,
      false,
    );
    if (this.duplicateHost) return this.local(400, 'duplicate-host');
    const maxBody = limits.maxBodyBytes;
    if (maxBody !== null && this.contentLength > maxBody) return this.local(413, 'body-too-large');
    if (this.grpc) this.applyGrpcTimeout();

    if (route.limiter !== null) {
      const retryAfter = route.limiter.take(this.startedAt);
      if (retryAfter > 0) {
        state.metrics.rateLimited++;
        return this.local(429, 'rate-limited', { 'retry-after': String(retryAfter) });
      }
    }
    const admission = route.upstream.breaker.admit(this.startedAt);
    if (admission > Admission.Probe) {
      const reason = ADMISSION_REASON[admission];
      route.upstream.metrics.countOverflow(reason);
      return this.local(503, reason, { 'x-sidecarctl-overflow': reason });
    }
    this.probe = admission === Admission.Probe;
    if (!(isIdempotent(this.method) || this.grpc || this.retryOptIn)) this.replay = null;

    if (!this.requestEnded) {
      stream.on('data', onRequestData);
      stream.on('end', onRequestEnd);
    }
    this.attempt(this.startedAt);
  }

  /** grpc-timeout ("100m", "5S", ...) bounds the whole call, capped by the listener's request timeout. */
  applyGrpcTimeout(): void {
    const ms = parseGrpcTimeout(this.headers['grpc-timeout']);
    if (ms === null) return;
    const capped = Math.min(ms, this.route.config.timeouts.requestMs);
    this.callDeadline = this.deadline = this.startedAt + capped;
    const h = this.upstreamHeaders;
    for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === 'grpc-timeout') h[i + 1] = `${Math.max(1, Math.ceil(capped))}m`;
  }

  attempt(now = performance.now()): void {
    const { route } = this;
    this.attempts++;
    route.upstream.breaker.inflight++;
    this.awaitingUpstream = true;
    const noBody = this.requestEnded && this.bytesReceived === 0;
    const call = route.upstream.request(this, this.method, this.path, this.upstreamHeaders, noBody ? EMPTY_BODY : null, this.chunked && this.contentLength < 0);
    this.call = call;
    if (!noBody) {
      // A replay sends what was kept; the first attempt has nothing yet (or the whole body).
      for (const chunk of this.replay ?? EMPTY_CHUNKS) call.write(chunk);
      if (this.requestEnded) call.end();
    }
    const left = this.deadline - now;
    const perTry = route.retry.perTryTimeoutMs;
    if (perTry !== null && perTry < left) this.arm(perTry, onTryTimeout);
    else this.arm(left, onDeadline);
  }

  // CallSink ------------------------------------------------------------------------------------

  onResponse(call: Call, status: number, rawHeaders: string[]): void {
    this.disarm();
    this.awaitingUpstream = false;
    const now = performance.now();
    const grpcStatus = this.grpc ? grpcStatusOf(rawHeaders) : null;
    const failed = status >= 500 || grpcStatus === GrpcStatus.Unavailable;
    this.route.upstream.breaker.record(!failed, this.probe, now);
    this.probe = false;
    this.releaseRetryToken();
    const retry = this.route.retry;
    const retriable = retry.retriableStatus(status) || (grpcStatus !== null && retry.retriableGrpc(grpcStatus));
    if (this.mayRetry(retriable)) {
      call.discard();
      this.endAttempt();
      this.retryAfterBackoff(now);
      return;
    }
    this.responding = true;
    this.status = status;
    if (grpcStatus !== null) this.grpcStatus = grpcStatus;
    this.pendingHead = h2ResponseHead(status, rawHeaders);
    // grpc-timeout bounds the rest of the call too.
    if (this.callDeadline !== null) this.arm(this.callDeadline - now, onDeadline);
  }

  /** Sends the held head; false when node refused it (the client then got an error answer). */
  flushHead(endStream: boolean): boolean {
    const head = this.pendingHead;
    if (head === null) return true;
    this.pendingHead = null;
    // Trailers may follow from an HTTP/2 app (and from the proxy, for a gRPC call it cuts short):
    // keep the stream open for them.
    const waitForTrailers = !endStream && (speaksH2Upstream(this.route.config.protocol) || this.grpc);
    try {
      this.stream.respond(head, { endStream, waitForTrailers });
    } catch {
      this.abandonAttempt();
      this.local(502, 'upstream-invalid-response');
      return false;
    }
    if (waitForTrailers) {
      this.trailersPending = true;
      this.stream.once('wantTrailers', onWantTrailers);
    }
    return true;
  }

  onResponseData(call: Call, chunk: Buffer): boolean {
    if (this.pendingHead !== null && !this.flushHead(false)) return false;
    this.bytesSent += chunk.length;
    const stream = this.stream;
    if (stream.write(chunk)) return stream.writableLength > 0;
    call.pause();
    stream.once('drain', onResponseDrain);
    return true;
  }

  onResponseTrailers(_call: Call, rawTrailers: string[]): void {
    const trailers: OutgoingHttpHeaders = {};
    for (let i = 0; i < rawTrailers.length; i += 2) addField(trailers, rawTrailers[i]!.toLowerCase(), rawTrailers[i + 1]!);
    this.trailers = trailers;
    if (this.grpc) {
      const code = Number(trailers['grpc-status']);
      if (Number.isInteger(code)) this.grpcStatus = code;
    }
  }

  onResponseEnd(): void {
    this.endAttempt();
    this.disarm();
    if (this.pendingHead !== null) {
      // Headers then end: a trailers-only answer, unless trailers came separately.
      if (this.trailers === null) {
        if (this.flushHead(true)) this.completed = true;
        return;
      }
      if (!this.flushHead(false)) return;
    }
    if (!this.stream.destroyed) this.stream.end();
    if (!speaksH2Upstream(this.route.config.protocol)) this.completed = true;
  }

  onResponseAborted(): void {
    this.endAttempt();
    if (this.pendingHead !== null) {
      this.pendingHead = null;
      this.route.upstream.breaker.record(false, false, performance.now());
      this.local(502, 'upstream-invalid-response');
      return;
    }
    this.error = 'upstream-reset';
    if (this.grpc) return this.local(502, 'upstream-reset'); // a status in the trailers
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  onRequestDrain(): void {
    this.stream.resume();
  }

  onFailure(call: Call, failure: Failure): void {
    this.disarm();
    this.awaitingUpstream = false;
    this.endAttempt();
    const next = afterFailure(this, call, failure, this.replayable(), this.stream.destroyed, onBackoffDone);
    if (next === 'again') this.attempt();
    else if (next !== 'later') this.local(next, `upstream-${FAILURE_NAME[failure]}`);
  }

  // ---------------------------------------------------------------------------------------------

  replayable(): boolean {
    return this.replay !== null;
  }

  mayRetry(retriable: boolean): boolean {
    return mayRetry(this, retriable, this.replayable(), this.stream.destroyed);
  }

  retryAfterBackoff(now: number): void {
    retryAfterBackoff(this, now, onBackoffDone);
  }

  releaseRetryToken(): void {
    releaseRetryToken(this);
  }

  endAttempt(): void {
    if (this.call === null) return;
    this.call = null;
    this.route.upstream.breaker.inflight--;
    if (!this.requestEnded) this.stream.resume(); // keep reading (and dropping) the client's body
  }

  abandonAttempt(): void {
    const call = this.call;
    if (call === null) return;
    this.endAttempt();
    call.abort();
  }

  /**
   * Answers from the proxy itself: a gRPC status (trailers-only, or trailers after a body that
   * has begun) for gRPC calls, else an HTTP status with a short text body.
   */
  local(status: number, reason: string, extra: OutgoingHttpHeaders = {}): void {
    this.disarm();
    this.awaitingUpstream = false;
    this.responding = true;
    this.error = reason;
    this.pendingHead = null;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (this.grpc) {
      const code = grpcStatusFor(status);
      this.grpcStatus = code;
      const fields = { 'grpc-status': String(code), 'grpc-message': reason, ...extra };
      if (stream.headersSent) {
        // The response has begun: the status goes in its trailers.
        if (!this.trailersPending) return void stream.close(NGHTTP2_INTERNAL_ERROR);
        this.trailers = fields;
        if (!stream.writableEnded) stream.end();
        return;
      }
      this.status = 200;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...fields }, { endStream: true });
      this.completed = true;
      return;
    }
    this.status = status;
    if (stream.headersSent) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const body = `${reason}\n`;
    stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), ...extra });
    stream.end(body);
    this.completed = true;
  }

  arm(ms: number, fn: (ex: StreamExchange) => void): void {
    arm(this, ms, fn);
  }

  disarm(): void {
    disarm(this);
  }

  /** The stream closed: release everything and log. */
  finish(): void {
    const { route, state, stream } = this;
    this.disarm();
    // (writableFinished cannot tell: node ends the writable side of a stream the peer reset.)
    if (!this.completed) {
      this.abandonAttempt();
      if (this.status === 0) this.status = 499;
      this.error ??= this.responding ? 'response-aborted' : 'client-closed';
      // The client reset it (or the connection went): counts toward rapid-reset protection.
      if (stream.rstCode !== undefined && stream.rstCode !== 0) countClientReset(this.session);
    }
    if (this.probe) route.upstream.breaker.releaseProbe();
    this.releaseRetryToken();
    state.budget.activeRequests--;
    const durationMs = performance.now() - this.startedAt;
    route.upstream.metrics.observe(this.status, durationMs / 1000);
    if (this.grpcStatus !== null) route.upstream.metrics.observeGrpc(this.grpcStatus);
    state.accessLog.write({
      listener: state.name,
      method: this.method,
      path: this.path,
      status: this.status,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs,
      upstream: route.upstream.id,
      attempts: this.attempts,
      requestId: this.requestId,
      error: this.error,
      protocol: 'h2',
      ...(this.grpc ? { grpcStatus: this.grpcStatus } : {}),
    });
  }
}

const EMPTY_CHUNKS: Buffer[] = [];

// Event handlers and timers (module level; the exchange is found through kStreamExchange) ---------

function onRequestData(this: Tagged, chunk: Buffer): void {
  const ex = this[kStreamExchange]!;
  ex.bytesReceived += chunk.length;
  const maxBody = ex.route.config.limits.maxBodyBytes;
  if (maxBody !== null && ex.bytesReceived > maxBody) {
    this.removeListener('data', onRequestData);
    ex.abandonAttempt();
    ex.local(413, 'body-too-large');
    return;
  }
  if (ex.replay !== null) {
    if (ex.replayBytes + chunk.length <= ex.route.config.limits.retryBufferBytes) {
      ex.replay.push(chunk);
      ex.replayBytes += chunk.length;
    } else ex.replay = null; // too big to keep: this attempt is the only one
  }
  const call = ex.call;
  if (call !== null && !call.write(chunk)) this.pause(); // resumed by onRequestDrain
}

function onRequestEnd(this: Tagged): void {
  const ex = this[kStreamExchange]!;
  ex.requestEnded = true;
  ex.call?.end();
}

function onResponseDrain(this: Tagged): void {
  this[kStreamExchange]?.call?.resume();
}

function onWantTrailers(this: Tagged): void {
  const ex = this[kStreamExchange]!;
  try {
    this.sendTrailers(ex.trailers ?? {});
    ex.completed = true;
  } catch {
    this.close(NGHTTP2_INTERNAL_ERROR); // a trailer node refuses (a forbidden field)
  }
}

function onStreamClose(this: Tagged): void {
  this[kStreamExchange]?.finish();
}

/** No frame either way for idleMs: cut, unless the request is complete and waits for the app. */
function onStreamIdle(this: Tagged): void {
  const ex = this[kStreamExchange]!;
  if (ex.awaitingUpstream && ex.requestEnded) return;
  ex.error ??= 'idle-timeout';
  ex.abandonAttempt();
  if (!this.destroyed) this.close(NGHTTP2_CANCEL);
}

function onTryTimeout(ex: StreamExchange): void {
  ex.timer = null;
  const call = ex.call!;
  ex.abandonAttempt();
  if (!ex.requestEnded && ex.replay === null) return ex.local(408, 'client-timeout');
  ex.onFailure(call, Failure.Timeout);
}

function onDeadline(ex: StreamExchange): void {
  ex.timer = null;
  ex.abandonAttempt();
  if (ex.callDeadline !== null) return ex.local(504, 'deadline-exceeded');
  if (!ex.requestEnded || !ex.awaitingUpstream) return ex.local(408, 'client-timeout');
  ex.route.upstream.breaker.record(false, ex.probe, performance.now());
  ex.probe = false;
  ex.local(504, 'upstream-timeout');
}

function onBackoffDone(ex: StreamExchange): void {
  ex.timer = null;
  if (ex.stream.destroyed) return;
  ex.attempt();
}

// Pure helpers ----------------------------------------------------------------------------------

/**
 * The client's fields as an HTTP/1-style flat array for scanRequestHeaders: :authority becomes
 * Host, other pseudo-headers go, and a body without Content-Length is marked chunked (the
 * HTTP/1.1 pool then chunks it; the HTTP/2 pool drops the marker).
 */
export function h1Headers(raw: string[], endStream: boolean): string[] {
  const out: string[] = [];
  let authority: string | null = null;
  let host = false;
  let length = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') authority = raw[i + 1]!;
      continue;
    }
    if (name === 'host') host = true;
    else if (name === 'content-length') length = true;
    out.push(name, raw[i + 1]!);
  }
  if (!host && authority !== null) out.unshift('host', authority);
  if (!endStream && !length) out.push('transfer-encoding', 'chunked');
  return out;
}

/** RFC 9113 §6.5.2 counts 32 bytes per field on top of name and value. */
function withinHeaderLimits(raw: string[], maxHeaders: number, maxBytes: number): boolean {
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.charCodeAt(0) !== 0x3a) count++;
    bytes += raw[i]!.length + raw[i + 1]!.length + 32;
  }
  return count <= maxHeaders && bytes <= maxBytes;
}

/** The head for the client: the app's fields minus the ones HTTP/2 forbids. */
function h2ResponseHead(status: number, raw: string[]): OutgoingHttpHeaders {
  const head: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!CONNECTION_SPECIFIC.has(name)) addField(head, name, raw[i + 1]!);
  }
  return head;
}

function addField(out: OutgoingHttpHeaders, name: string, value: string): void {
  const previous = out[name];
  if (previous === undefined) out[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else out[name] = [String(previous), value];
}

/** grpc-status of a trailers-only answer (it is in the head), else null. */
function grpcStatusOf(raw: string[]): number | null {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'grpc-status') {
      const code = Number(raw[i + 1]);
      return Number.isInteger(code) ? code : null;
    }
  }
  return null;
}

const GRPC_TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** `grpc-timeout: 1-8 digits and a unit` (gRPC over HTTP/2 spec) in ms, or null. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  return match ? Number(match[1]) * GRPC_TIMEOUT_UNITS[match[2]!]! : null;
}

function noop(): void {}
