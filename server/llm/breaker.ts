/**
 * Circuit breaker, one per provider.
 *
 *   closed --(failureThreshold consecutive failures)--> open
 *   open   --(openMs elapsed; next allow() takes the one trial)--> half_open
 *   half_open --success--> closed      half_open --failure--> open (timer restarts)
 *
 * While open, calls are skipped without touching the network, so a provider that is down
 * costs nothing and its fallback answers at once instead of after a timeout.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** Time the breaker stays open before a trial call is allowed. */
  openMs: number;
  /** Clock, ms; injected by tests. Default Date.now. */
  now?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private current: BreakerState = 'closed';
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** State as it would be seen by the next allow() (an expired open reads as half_open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.openMs) return 'half_open';
    return this.current;
  }

  /** Consecutive failures counted so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * May a call go out now? In half-open state only one trial is let through until it
   * reports success() or failure() (or is given back with release()).
   */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.opts.openMs) return false;
      this.current = 'half_open';
      this.trialInFlight = false;
    }
    if (this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.current = 'closed';
    this.trialInFlight = false;
  }

  failure(): void {
    this.failures++;
    if (this.current === 'half_open' || this.failures >= this.opts.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
    this.trialInFlight = false;
  }

  /** Give back an allowed call that ended neither way (e.g. cancelled by the caller). */
  release(): void {
    this.trialInFlight = false;
  }
}
