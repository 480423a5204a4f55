/**
 * Per-user rate limiter: sliding one-minute window, temporary block on violation, and a
 * user table bounded in size.
 *
 * Sliding window from two fixed windows (no per-request timestamps). Windows are aligned
 * to whole minutes of the clock; the previous window counts in proportion to how much of
 * it still lies inside the sliding minute that ends now:
 *
 *        previous window        current window
 *     |----------------------|-----------x----------|      x = now
 *                   [·········· sliding minute ······]
 *     estimate = prev × (1 − f) + cur,     f = elapsed fraction of the current window
 *
 * A request is allowed while estimate + 1 ≤ limit. The first refused request starts a
 * block of `blockMinutes`: every request until it ends is refused with the remaining
 * block as Retry-After, and the counters restart from zero when it ends. With
 * `blockMinutes: 0` refusals last only until the estimate falls below the limit.
 *
 * Memory: a fixed-size record per user, in parallel typed arrays ("slots") threaded on a
 * doubly linked recency list, plus a Map from user key to slot:
 *
 *     index: Map<userKey, slot>        head (most recent) ⇄ … ⇄ tail (least recent)
 *     slot i: windowStart[i] current[i] previous[i] blockedUntil[i] prev[i] next[i] keys[i]
 *
 * A hit moves the user's slot to the head; a new user past `maxUsers` takes over the
 * tail slot (the least recently seen user is evicted). All O(1). A Map alone cannot do
 * this: evicting through `map.keys().next()` walks the deleted entries left at the front
 * of V8's ordered hash table, and 1M inserts into a 100k table took ~95 s that way.
 * Arrays grow by doubling up to `maxUsers`, so a small deployment does not preallocate.
 * Evicting a blocked user forgets the block — at 100,000 users that needs a flood of
 * fresh ids, which the per-address fallback key makes expensive.
 */

/** Options of RateLimiter; validated in the constructor. */
export interface RateLimiterOptions {
  /** Requests allowed per user in any sliding minute (`OPENSESAME_RATE_LIMIT_RPM`, seed default 60). */
  limitPerMinute: number;
  /** Minutes a user stays blocked after exceeding the limit (`OPENSESAME_RATE_LIMIT_BLOCK_MINUTES`, seed default 5). 0 = no block. */
  blockMinutes: number;
  /** Most users tracked at once; the least recently seen are evicted beyond it. Default 100,000. */
  maxUsers?: number;
  /** Clock in milliseconds, injectable for tests. Default: a monotonic wall clock. */
  now?: () => number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The configured per-minute limit (for a RateLimit-Limit header). */
  limit: number;
  /** Requests still allowed now, after this one. 0 when refused. */
  remaining: number;
  /** Seconds until the current window ends (allowed), or until the refusal ends (refused). */
  resetSeconds: number;
  /** Present when refused: seconds the client should wait (Retry-After). */
  retryAfterSeconds?: number;
}

const WINDOW_MS = 60_000;
export const DEFAULT_MAX_USERS = 100_000;

const NONE = -1;
const INITIAL_SLOTS = 1024;

function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

export class RateLimiter {
  private readonly limit: number;
  private readonly blockMs: number;
  private readonly maxUsers: number;
  private readonly now: () => number;

  private readonly index = new Map<string, number>();
  private keys: string[] = [];
  private windowStart = new Float64Array(0);
  private current = new Uint32Array(0);
  private previous = new Uint32Array(0);
  private blockedUntil = new Float64Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private head = NONE;
  private tail = NONE;
  private used = 0;

  constructor(opts: RateLimiterOptions) {
    const { limitPerMinute, blockMinutes } = opts;
    const maxUsers = opts.maxUsers ?? DEFAULT_MAX_USERS;
    if (!Number.isInteger(limitPerMinute) || limitPerMinute < 1) {
      throw new RangeError(`limitPerMinute must be an integer >= 1 (got ${String(limitPerMinute)})`);
    }
    if (typeof blockMinutes !== 'number' || !Number.isFinite(blockMinutes) || blockMinutes < 0) {
      throw new RangeError(`blockMinutes must be a finite number >= 0 (got ${String(blockMinutes)})`);
    }
    if (!Number.isInteger(maxUsers) || maxUsers < 1 || maxUsers > 2 ** 30) {
      throw new RangeError(`maxUsers must be an integer in 1..2^30 (got ${String(maxUsers)})`);
    }
    if (opts.now !== undefined && typeof opts.now !== 'function') throw new TypeError('now must be a function');
    this.limit = limitPerMinute;
    this.blockMs = blockMinutes * 60_000;
    this.maxUsers = maxUsers;
    this.now = opts.now ?? monotonicNow;
  }

  /** Count one request of `userKey` (already hashed, see privacy.ts) and decide on it. */
  hit(userKey: string): RateLimitDecision {
    const now = this.now();
    const i = this.touch(String(userKey));

    if (this.blockedUntil[i]! > now) return this.refusal(Math.ceil((this.blockedUntil[i]! - now) / 1000));

    this.roll(i, now);
    const elapsed = Math.min(1, Math.max(0, (now - this.windowStart[i]!) / WINDOW_MS));
    const estimate = this.previous[i]! * (1 - elapsed) + this.current[i]!;

    if (estimate + 1 > this.limit) {
      if (this.blockMs > 0) {
        this.blockedUntil[i] = now + this.blockMs;
        this.current[i] = 0;
        this.previous[i] = 0;
        return this.refusal(Math.ceil(this.blockMs / 1000));
      }
      return this.refusal(Math.max(1, Math.ceil(this.msUntilAllowed(i, now) / 1000)));
    }

    this.current[i]!++;
    return {
      allowed: true,
      limit: this.limit,
      remaining: Math.max(0, Math.floor(this.limit - (estimate + 1))),
      resetSeconds: Math.max(1, Math.ceil((this.windowStart[i]! + WINDOW_MS - now) / 1000)),
    };
  }

  /** Users currently tracked (never more than maxUsers). */
  size(): number {
    return this.index.size;
  }

  /** Forget every user (e.g. on configuration reload). */
  clear(): void {
    this.index.clear();
    this.keys = [];
    this.head = this.tail = NONE;
    this.used = 0;
  }

  private refusal(seconds: number): RateLimitDecision {
    return { allowed: false, limit: this.limit, remaining: 0, resetSeconds: seconds, retryAfterSeconds: seconds };
  }

  /** The user's slot, created (or taken from the least recent user) if needed, moved to the head. */
  private touch(key: string): number {
    let i = this.index.get(key);
    if (i !== undefined) {
      if (i !== this.head) {
        this.unlink(i);
        this.pushFront(i);
      }
      return i;
    }
    if (this.used < this.maxUsers) {
      if (this.used === this.prev.length) this.grow();
      i = this.used++;
    } else {
      i = this.tail;
      this.unlink(i);
      this.index.delete(this.keys[i]!);
    }
    this.keys[i] = key;
    this.windowStart[i] = 0;
    this.current[i] = 0;
    this.previous[i] = 0;
    this.blockedUntil[i] = 0;
    this.index.set(key, i);
    this.pushFront(i);
    return i;
  }

  private unlink(i: number): void {
    const p = this.prev[i]!;
    const n = this.next[i]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
  }

  private pushFront(i: number): void {
    this.prev[i] = NONE;
    this.next[i] = this.head;
    if (this.head !== NONE) this.prev[this.head] = i;
    this.head = i;
    if (this.tail === NONE) this.tail = i;
  }

  /** Double the slot arrays (capped at maxUsers), copying the live part. */
  private grow(): void {
    const size = Math.min(this.maxUsers, Math.max(INITIAL_SLOTS, this.prev.length * 2));
    const f64 = (old: Float64Array) => {
      const a = new Float64Array(size);
      a.set(old);
      return a;
    };
    const u32 = (old: Uint32Array) => {
      const a = new Uint32Array(size);
      a.set(old);
      return a;
    };
    const i32 = (old: Int32Array) => {
      const a = new Int32Array(size);
      a.set(old);
      return a;
    };
    this.windowStart = f64(this.windowStart);
    this.blockedUntil = f64(this.blockedUntil);
    this.current = u32(this.current);
    this.previous = u32(this.previous);
    this.prev = i32(this.prev);
    this.next = i32(this.next);
  }

  /** Advance the fixed windows of slot `i` to the one containing `now`. */
  private roll(i: number, now: number): void {
    const start = now - (((now % WINDOW_MS) + WINDOW_MS) % WINDOW_MS);
    const ws = this.windowStart[i]!;
    if (start <= ws) return; // same window (or a clock that stepped back)
    this.previous[i] = start - ws === WINDOW_MS ? this.current[i]! : 0;
    this.current[i] = 0;
    this.windowStart[i] = start;
  }

  /** Without a block: time until estimate + 1 ≤ limit again, from the window formula. */
  private msUntilAllowed(i: number, now: number): number {
    const room = this.limit - 1;
    const cur = this.current[i]!;
    const prev = this.previous[i]!;
    const ws = this.windowStart[i]!;
    if (cur <= room && prev > 0) {
      // The previous window's share must decay: prev × (1 − f) ≤ room − cur.
      const f = 1 - (room - cur) / prev;
      return ws + f * WINDOW_MS - now;
    }
    // The current window alone is over: wait for it to become "previous" and decay.
    const f = cur > 0 ? 1 - room / cur : 0;
    return ws + WINDOW_MS + Math.max(0, f) * WINDOW_MS - now;
  }
}
