/**
 * Token bucket rate limiter, one per listener.
 *
 * The bucket holds up to `burst` tokens and refills at `rps` tokens per second; each request takes
 * one. Refilling is computed lazily from the elapsed time on each call, so there is no timer.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rps: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /**
   * Takes one token. Returns 0 when the request may proceed, otherwise the number of whole seconds
   * after which a token will be available (for the Retry-After header, at least 1).
   */
  take(now: number): number {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rps) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rps));
  }
}
