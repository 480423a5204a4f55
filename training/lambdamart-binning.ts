/**
 * Quantile binning of the feature matrix for histogram-based boosting.
 *
 * Every feature f gets `numBins[f]` value bins plus one missing bin (index numBins[f]):
 *
 *   bin:        0        1               nb-1        nb
 *   values: x <= t[0] | x <= t[1] | ... | x <= t[nb-1] | NaN
 *
 * `t` (thresholds[f]) is strictly increasing float32; t[nb-1] is FLT_MAX so every finite
 * value has a bin. A split "bins 0..j go left" is therefore exactly the model-file test
 * `x <= t[j]` evaluated on float32 values, for training rows and unseen rows alike — the
 * exported model reproduces training-time predictions bit for bit. The split at j = nb-1
 * ("every present value left, NaN right") is how missingness alone becomes a split.
 *
 * The binned matrix is column-major Uint8 (feature f's column is bins[f*rows ..]) because
 * histogram building walks one feature over a leaf's rows at a time.
 */

/** Largest finite float32. */
export const FLT_MAX = 3.4028234663852886e38;

export interface BinnedData {
  rows: number;
  numFeatures: number;
  /** Column-major bin indices, rows * numFeatures. */
  bins: Uint8Array;
  /** Value bins per feature (the missing bin is numBins[f]). */
  numBins: Int32Array;
  /** Per feature, numBins[f] strictly increasing float32 upper bounds. */
  thresholds: Float32Array[];
  /** Histogram slot offset per feature; feature f uses numBins[f] + 1 slots. */
  slotOffset: Int32Array;
  /** Total histogram slots over all features. */
  totalSlots: number;
  /** Per feature, 1 when some training row has it missing. */
  hasMissing: Uint8Array;
}

/** Cap on values sorted per feature to find quantiles; beyond it rows are strided. */
const MAX_SAMPLE = 200_000;

/**
 * Upper bounds of the value bins of one feature from its sorted present values:
 * one bin per distinct value when they fit, otherwise greedy equal-count quantiles
 * (a heavy value keeps its own bin).
 */
export function binBounds(sorted: Float32Array, maxValueBins: number): Float32Array {
  const n = sorted.length;
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i];
    // === treats -0 and 0 as one value, as the float32 comparison in the model does.
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]++;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  // Indices i such that a boundary falls between distinct[i] and distinct[i + 1].
  const cuts: number[] = [];
  if (distinct.length <= maxValueBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(i);
  } else {
    const perBin = n / maxValueBins;
    let cum = 0;
    let nextCut = perBin;
    for (let i = 0; i + 1 < distinct.length && cuts.length < maxValueBins - 1; i++) {
      cum += counts[i];
      if (cum >= nextCut) {
        cuts.push(i);
        while (nextCut <= cum) nextCut += perBin;
      }
    }
  }
  const out = new Float32Array(cuts.length + 1);
  for (let c = 0; c < cuts.length; c++) {
    const a = distinct[cuts[c]];
    const b = distinct[cuts[c] + 1];
    // The float32 nearest the midpoint lies in [a, b]; when a and b are neighbouring
    // float32 values it can round up to b, and then only a itself separates them.
    let t = Math.fround((a + b) / 2);
    if (!(t < b)) t = a;
    out[c] = t;
  }
  out[cuts.length] = FLT_MAX;
  return out;
}

/** First j with x <= t[j] (t ends with FLT_MAX, so finite x always finds one). */
function findBin(t: Float32Array, x: number): number {
  let lo = 0;
  let hi = t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= t[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Bins every row of `features` (row-major, `numFeatures` per row) with bin bounds learnt
 * from `trainRows` only, so validation rows are binned as unseen data would be.
 */
export function binFeatures(
  features: Float32Array,
  numFeatures: number,
  trainRows: Uint32Array,
  maxBin: number,
): BinnedData {
  const rows = features.length / numFeatures;
  const bins = new Uint8Array(rows * numFeatures);
  const numBins = new Int32Array(numFeatures);
  const slotOffset = new Int32Array(numFeatures);
  const hasMissing = new Uint8Array(numFeatures);
  const thresholds: Float32Array[] = [];
  const stride = Math.max(1, Math.ceil(trainRows.length / MAX_SAMPLE));
  const sample = new Float32Array(Math.ceil(trainRows.length / stride));
  let totalSlots = 0;
  for (let f = 0; f < numFeatures; f++) {
    let m = 0;
    for (let i = 0; i < trainRows.length; i++) {
      const x = features[trainRows[i] * numFeatures + f];
      if (x !== x) hasMissing[f] = 1;
      else if (i % stride === 0) sample[m++] = x;
    }
    const sorted = sample.subarray(0, m).sort();
    const t = binBounds(sorted, maxBin - 1);
    thresholds.push(t);
    const nb = t.length;
    numBins[f] = nb;
    slotOffset[f] = totalSlots;
    totalSlots += nb + 1;
    const col = f * rows;
    for (let r = 0; r < rows; r++) {
      const x = features[r * numFeatures + f];
      bins[col + r] = x !== x ? nb : findBin(t, x);
    }
  }
  return { rows, numFeatures, bins, numBins, thresholds, slotOffset, totalSlots, hasMissing };
}
