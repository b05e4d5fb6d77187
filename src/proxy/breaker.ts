/**
 * Circuit breaking for one upstream: limits on requests in flight and waiting, plus ejection of the
 * upstream after consecutive failures.
 *
 * Connections are capped by the keep-alive pool (its maxSockets is `maxConnections`), so with
 * HTTP/1.1 every request beyond `maxConnections` in flight waits in the pool's queue: that is what
 * "pending" means here, and it is derived from the in-flight count instead of being tracked.
 *
 * Ejection: after `consecutive5xx` failures in a row (5xx responses, connect failures, resets and
 * timeouts) the circuit opens and requests get 503 for `ejectionMs`. Then it is half-open: exactly
 * one probe request goes through; success closes the circuit, failure opens it again.
 */
import type { CircuitBreakerConfig } from './config.js';

export enum CircuitState {
  Closed = 0,
  Open = 1,
  HalfOpen = 2,
}

export enum Admission {
  Admit = 0,
  /** Admitted as the single half-open probe: its result decides the circuit. */
  Probe = 1,
  OverflowRequests = 2,
  OverflowPending = 3,
  Open = 4,
}

/** Value of the `x-sidecarctl-overflow` header (and access-log error) for each rejection. */
export const ADMISSION_REASON = ['', '', 'max-requests', 'max-pending', 'circuit-open'] as const;

export class CircuitBreaker {
  /** Attempts currently sent (or queued) to the upstream. */
  inflight = 0;
  state: CircuitState = CircuitState.Closed;
  private failures = 0;
  private openUntil = 0;
  private probing = false;

  constructor(public limits: Required<CircuitBreakerConfig>) {}

  /** Decides whether a new request may go to the upstream. */
  admit(now: number): Admission {
    if (this.state !== CircuitState.Closed) {
      if (this.state === CircuitState.Open && now >= this.openUntil) this.state = CircuitState.HalfOpen;
      if (this.state === CircuitState.Open || this.probing) return Admission.Open;
      this.probing = true;
      return Admission.Probe;
    }
    const l = this.limits;
    if (this.inflight >= l.maxRequests) return Admission.OverflowRequests;
    if (this.inflight >= l.maxConnections + l.maxPending) return Admission.OverflowPending;
    return Admission.Admit;
  }

  /** True when no further attempt (retry) should be sent: the circuit opened meanwhile. */
  isOpen(): boolean {
    return this.state === CircuitState.Open;
  }

  /** Records the outcome of one attempt. `probe` is true for the half-open probe request. */
  record(success: boolean, probe: boolean, now: number): void {
    if (probe) this.probing = false;
    if (success) {
      this.failures = 0;
      if (probe) this.state = CircuitState.Closed;
      return;
    }
    this.failures++;
    const threshold = this.limits.consecutive5xx;
    if (probe || (threshold > 0 && this.failures >= threshold && this.state === CircuitState.Closed)) {
      this.state = CircuitState.Open;
      this.openUntil = now + this.limits.ejectionMs;
    }
  }

  /** A probe that ended without a result (client went away) lets the next request probe. */
  releaseProbe(): void {
    this.probing = false;
  }
}
