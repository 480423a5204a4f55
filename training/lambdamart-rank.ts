/**
 * Ranking maths of the trainer: NDCG@k and the LambdaRank gradients.
 *
 * Conventions (shared by the metric and the gradients, so they agree):
 *  - gain(label) = 2^label - 1, discount(rank) = 1 / log2(rank + 2) with rank 0-based;
 *  - items are ordered by score, descending; tied scores are ordered pessimistically
 *    (lower label first, then row order), so a model that cannot tell items apart gets no
 *    credit for the order the rows happened to arrive in;
 *  - a group with no relevant item (every label 0) has no defined NDCG and is skipped.
 *
 * A "group set" is a pair of arrays (`starts`, `sizes`) of row offsets into global arrays,
 * so the training and validation groups can be addressed without copying rows.
 */

export interface GroupSet {
  starts: Uint32Array;
  sizes: Uint32Array;
}

/** Row `a` ranks before row `b`: higher score, or equal score and lower label (pessimistic tie). */
function before(s: ArrayLike<number>, y: ArrayLike<number>, a: number, b: number): boolean {
  return s[a] > s[b] || (s[a] === s[b] && (y[a] < y[b] || (y[a] === y[b] && a < b)));
}

/** Reusable buffers sized for the largest group. */
export class RankScratch {
  readonly order: Uint32Array;
  readonly discount: Float64Array;
  private readonly sortedLabels: Float64Array;

  constructor(maxGroupSize: number) {
    this.order = new Uint32Array(maxGroupSize);
    this.sortedLabels = new Float64Array(maxGroupSize);
    this.discount = new Float64Array(maxGroupSize);
    for (let i = 0; i < maxGroupSize; i++) this.discount[i] = 1 / Math.log2(i + 2);
  }

  /** Fills order[0..n) with rows start..start+n-1 sorted best first (see conventions). */
  sortGroup(s: ArrayLike<number>, y: ArrayLike<number>, start: number, n: number): Uint32Array {
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = start + i;
    if (n <= 24) {
      // Groups are usually a handful of candidates; insertion sort beats a comparator sort.
      for (let i = 1; i < n; i++) {
        const v = order[i];
        let j = i - 1;
        while (j >= 0 && before(s, y, v, order[j])) {
          order[j + 1] = order[j];
          j--;
        }
        order[j + 1] = v;
      }
    } else {
      order.subarray(0, n).sort((a, b) => (before(s, y, a, b) ? -1 : before(s, y, b, a) ? 1 : 0));
    }
    return order;
  }

  /** Ideal DCG@k of the group (0 when it has no relevant item). */
  maxDcg(y: ArrayLike<number>, start: number, n: number, k: number): number {
    const sl = this.sortedLabels;
    for (let i = 0; i < n; i++) sl[i] = y[start + i];
    const top = sl.subarray(0, n).sort().reverse();
    let dcg = 0;
    for (let i = 0; i < Math.min(k, n); i++) dcg += (2 ** top[i] - 1) * this.discount[i];
    return dcg;
  }
}

export function maxGroupSize(groups: GroupSet): number {
  let m = 1;
  for (let g = 0; g < groups.sizes.length; g++) if (groups.sizes[g] > m) m = groups.sizes[g];
  return m;
}

/**
 * Mean NDCG@k over the groups of `groups` that hold at least one relevant item; NaN when
 * no group does (the metric is undefined there, and 0 or 1 would both mislead).
 */
export function ndcgForGroups(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: GroupSet,
  k: number,
  scratch: RankScratch = new RankScratch(maxGroupSize(groups)),
): number {
  let total = 0;
  let counted = 0;
  for (let g = 0; g < groups.sizes.length; g++) {
    const start = groups.starts[g];
    const n = groups.sizes[g];
    const ideal = scratch.maxDcg(labels, start, n, k);
    if (ideal <= 0) continue;
    const order = scratch.sortGroup(scores, labels, start, n);
    let dcg = 0;
    for (let i = 0; i < Math.min(k, n); i++) dcg += (2 ** labels[order[i]] - 1) * scratch.discount[i];
    total += dcg / ideal;
    counted++;
  }
  return counted === 0 ? NaN : total / counted;
}

/** Group sizes -> a GroupSet over consecutive rows. */
export function groupSetFromSizes(sizes: Uint32Array): GroupSet {
  const starts = new Uint32Array(sizes.length);
  let at = 0;
  for (let g = 0; g < sizes.length; g++) {
    starts[g] = at;
    at += sizes[g];
  }
  return { starts, sizes };
}

/**
 * Per-group 1 / idealDCG@k, 0 for groups whose gradients are skipped (all labels equal:
 * no pair carries information).
 */
export function inverseMaxDcg(labels: ArrayLike<number>, groups: GroupSet, k: number, scratch: RankScratch): Float64Array {
  const inv = new Float64Array(groups.sizes.length);
  for (let g = 0; g < inv.length; g++) {
    const start = groups.starts[g];
    const n = groups.sizes[g];
    let allEqual = true;
    for (let i = 1; i < n && allEqual; i++) allEqual = labels[start + i] === labels[start];
    if (allEqual) continue;
    const ideal = scratch.maxDcg(labels, start, n, k);
    inv[g] = ideal > 0 ? 1 / ideal : 0;
  }
  return inv;
}

/**
 * LambdaRank gradients for NDCG@k (the LightGBM formulation): for every pair of items with
 * different labels where at least one sits in the current top k, a RankNet sigmoid on the
 * score difference weighted by |delta NDCG| of swapping them, normalised per group by
 * log2(1 + sum of lambdas) / sum so large groups do not dominate. Writes `grad` and `hess`
 * for every row of `groups`; other rows are left untouched. `pow2Labels` (2^label per row)
 * is worth precomputing once per run: this runs every round.
 */
export function lambdaGradients(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: GroupSet,
  invMaxDcg: Float64Array,
  k: number,
  sigma: number,
  grad: Float64Array,
  hess: Float64Array,
  scratch: RankScratch,
  pow2Labels: Float64Array = Float64Array.from(labels, (y) => 2 ** y),
): void {
  const disc = scratch.discount;
  for (let g = 0; g < groups.sizes.length; g++) {
    const start = groups.starts[g];
    const n = groups.sizes[g];
    for (let i = start; i < start + n; i++) {
      grad[i] = 0;
      hess[i] = 0;
    }
    const inv = invMaxDcg[g];
    if (inv === 0) continue;
    const order = scratch.sortGroup(scores, labels, start, n);
    const spread = scores[order[0]] !== scores[order[n - 1]];
    let sumLambdas = 0;
    const top = Math.min(k, n - 1);
    for (let i = 0; i < top; i++) {
      const ri = order[i];
      const yi = labels[ri];
      for (let j = i + 1; j < n; j++) {
        const rj = order[j];
        const yj = labels[rj];
        if (yi === yj) continue;
        let high: number, low: number, highRank: number, lowRank: number;
        if (yi > yj) {
          high = ri; low = rj; highRank = i; lowRank = j;
        } else {
          high = rj; low = ri; highRank = j; lowRank = i;
        }
        const deltaScore = scores[high] - scores[low];
        let deltaNdcg = (pow2Labels[high] - pow2Labels[low]) * Math.abs(disc[highRank] - disc[lowRank]) * inv;
        // Pairs already far apart matter less (LightGBM's lambdarank_norm).
        if (spread) deltaNdcg /= 0.01 + Math.abs(deltaScore);
        const p = 1 / (1 + Math.exp(sigma * deltaScore));
        const lambda = -sigma * p * deltaNdcg;
        const h = sigma * sigma * p * (1 - p) * deltaNdcg;
        grad[high] += lambda;
        grad[low] -= lambda;
        hess[high] += h;
        hess[low] += h;
        sumLambdas -= 2 * lambda;
      }
    }
    if (sumLambdas > 0) {
      const norm = Math.log2(1 + sumLambdas) / sumLambdas;
      for (let i = start; i < start + n; i++) {
        grad[i] *= norm;
        hess[i] *= norm;
      }
    }
  }
}
