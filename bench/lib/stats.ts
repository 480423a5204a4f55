/**
 * Exact latency percentiles from every recorded value. autocannon's HDR histogram has a
 * lowest discernible value of 1 ms and floors, so a 0.4 ms and a 1.9 ms response look the
 * same there; the sub-millisecond targets (cache hit p50 <= 1 ms) need the raw times,
 * which autocannon hands out per response. 200k responses are 1.6 MB here: cheap.
 */

export interface LatencySummary {
  /** Values recorded. */
  count: number;
  average: number;
  min: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
  max: number;
}

/** Append-only Float64 buffer that doubles when full (no per-value allocation on the hot path). */
export class LatencyRecorder {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    return summarize(this.buf.subarray(0, this.n));
  }
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    average: r3(sorted.length ? sum / sorted.length : NaN),
    min: r3(sorted.length ? sorted[0]! : NaN),
    p50: r3(rank(sorted, 50)),
    p90: r3(rank(sorted, 90)),
    p97_5: r3(rank(sorted, 97.5)),
    p99: r3(rank(sorted, 99)),
    p99_9: r3(rank(sorted, 99.9)),
    max: r3(sorted.length ? sorted[sorted.length - 1]! : NaN),
  };
}
