/**
 * Retry decisions: which outcomes are retriable, how long to back off, and the retry budget.
 */
import type { ResolvedRetries } from './config.js';

/** Why an attempt failed without a usable response. */
export enum Failure {
  ConnectFailure = 1,
  Reset = 2,
  Timeout = 3,
  /** The upstream answered something the response parser refuses (never forwarded). */
  InvalidResponse = 4,
}

export const FAILURE_NAME = ['', 'connect-failure', 'reset', 'timeout', 'invalid-response'] as const;

/** retryOn names for gRPC statuses, and their codes. */
const GRPC_CONDITIONS = [
  ['cancelled', 1],
  ['deadline-exceeded', 4],
  ['resource-exhausted', 8],
  ['unavailable', 14],
] as const;

/** Methods that may be replayed without the client asking for it (RFC 9110 idempotent methods). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A request carrying this header with value `true` may be retried whatever its method. */
export const RETRY_OPT_IN_HEADER = 'x-sidecarctl-retry';

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** The listener's retry settings, compiled into flags so per-request checks are cheap. */
export class RetryPolicy {
  readonly attempts: number;
  readonly perTryTimeoutMs: number | null;
  private readonly on5xx: boolean;
  private readonly onGateway: boolean;
  private readonly on409: boolean;
  private readonly onConnect: boolean;
  private readonly onReset: boolean;
  private readonly onTimeout: boolean;
  /** gRPC statuses to retry (trailers-only answers). */
  private readonly grpcCodes: ReadonlySet<number>;

  constructor(readonly config: ResolvedRetries) {
    const on = new Set(config.retryOn);
    this.attempts = config.attempts;
    this.perTryTimeoutMs = config.perTryTimeoutMs;
    this.on5xx = on.has('5xx');
    this.onGateway = on.has('gateway-error');
    this.on409 = on.has('retriable-4xx');
    this.onConnect = this.on5xx || on.has('connect-failure');
    this.onReset = this.on5xx || on.has('reset');
    this.onTimeout = this.on5xx || this.onGateway || on.has('timeout');
    this.grpcCodes = new Set(GRPC_CONDITIONS.filter(([name]) => on.has(name)).map(([, code]) => code));
  }

  retriableGrpc(code: number): boolean {
    return this.grpcCodes.has(code);
  }

  retriableStatus(status: number): boolean {
    if (status >= 500) return this.on5xx || (this.onGateway && status >= 502 && status <= 504);
    return status === 409 && this.on409;
  }

  retriableFailure(failure: Failure): boolean {
    if (failure === Failure.ConnectFailure) return this.onConnect;
    // A malformed answer is retried like a reset: the connection it came on is closed.
    if (failure === Failure.Reset || failure === Failure.InvalidResponse) return this.onReset;
    return this.onTimeout;
  }

  /** Exponential back-off with full jitter: uniform in [0, min(max, base * 2^(retry-1))). */
  backoffMs(retry: number): number {
    const { baseMs, maxMs } = this.config.backoff;
    const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
    return Math.random() * ceiling;
  }
}

/**
 * Caps retries in flight at max(minConcurrency, percent% of active requests), so that a failing
 * upstream cannot make the proxy multiply its load. One per listener; survives config reloads.
 */
export class RetryBudget {
  activeRequests = 0;
  retriesInFlight = 0;

  tryAcquire(budget: { percent: number; minConcurrency: number }): boolean {
    const limit = Math.max(budget.minConcurrency, (this.activeRequests * budget.percent) / 100);
    if (this.retriesInFlight + 1 > limit) return false;
    this.retriesInFlight++;
    return true;
  }

  release(): void {
    this.retriesInFlight--;
  }
}
