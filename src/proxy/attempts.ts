/**
 * The retry bookkeeping both exchanges share (HTTP/1.1 in forward.ts, HTTP/2 streams in
 * h2forward.ts): whether one more attempt may go (policy, breaker, retry budget), the back-off,
 * and the one timer an exchange has at a time.
 */
import type { ListenerState, Route } from './forward.js';
import type { Call } from './pool.js';
import { Failure } from './retry.js';

export interface AttemptState {
  readonly state: ListenerState;
  readonly route: Route;
  readonly deadline: number;
  attempts: number;
  /** This request holds a retry budget slot. */
  retryToken: boolean;
  /** The one pending timer: attempt timeout, request deadline or retry back-off. */
  timer: NodeJS.Timeout | null;
  /** This request is the circuit breaker's half-open probe. */
  probe: boolean;
  /** The keep-alive race (or a refused HTTP/2 stream) was already retried. */
  poolRetried: boolean;
}

/**
 * An attempt failed without a response (its breaker slot already freed): charges the upstream,
 * then says what next: `again` at once (a pooled connection reset just as it was reused means the
 * upstream closed an idle connection, and a refused HTTP/2 stream was never processed: once,
 * whatever the retry policy says), `later` (a retry after back-off, scheduled), or the status to
 * answer with.
 */
export function afterFailure<T extends AttemptState>(
  ex: T,
  call: Call,
  failure: Failure,
  replayable: boolean,
  clientGone: boolean,
  onBackoffDone: (ex: T) => void,
): 'again' | 'later' | number {
  const now = performance.now();
  ex.route.upstream.breaker.record(false, ex.probe, now);
  ex.probe = false;
  releaseRetryToken(ex);
  if (failure === Failure.Reset && call.reused && replayable && !ex.poolRetried && !clientGone) {
    ex.poolRetried = true;
    return 'again';
  }
  if (mayRetry(ex, ex.route.retry.retriableFailure(failure), replayable, clientGone)) {
    retryAfterBackoff(ex, now, onBackoffDone);
    return 'later';
  }
  return failure === Failure.Timeout ? 504 : failure === Failure.ConnectFailure ? 503 : 502;
}

/**
 * Whether to try again (`replayable`: the request can be sent again unchanged; `clientGone`: no
 * one to answer); takes a retry budget slot when the answer is yes.
 */
export function mayRetry(ex: AttemptState, retriable: boolean, replayable: boolean, clientGone: boolean): boolean {
  if (!retriable || !replayable || clientGone) return false;
  const { route } = ex;
  if (ex.attempts >= route.retry.attempts || route.upstream.breaker.isOpen()) return false;
  if (!ex.state.budget.tryAcquire(route.retry.config.budget)) return false;
  ex.retryToken = true;
  return true;
}

/** Schedules the next attempt after the policy's back-off, never past the deadline. */
export function retryAfterBackoff<T extends AttemptState>(ex: T, now: number, onBackoffDone: (ex: T) => void): void {
  ex.route.upstream.metrics.retries++;
  // Never back off past the deadline; the next attempt then times out at once.
  const delay = Math.min(ex.route.retry.backoffMs(ex.attempts), Math.max(0, ex.deadline - now));
  arm(ex, delay, onBackoffDone);
}

export function releaseRetryToken(ex: AttemptState): void {
  if (ex.retryToken) {
    ex.retryToken = false;
    ex.state.budget.release();
  }
}

/** (Re)sets the exchange's timer; the callback gets the exchange (no closure per request). */
export function arm<T extends AttemptState>(ex: T, ms: number, fn: (ex: T) => void): void {
  if (ex.timer !== null) clearTimeout(ex.timer);
  ex.timer = setTimeout(fn, Math.max(1, ms), ex);
}

export function disarm(ex: AttemptState): void {
  if (ex.timer !== null) {
    clearTimeout(ex.timer);
    ex.timer = null;
  }
}
