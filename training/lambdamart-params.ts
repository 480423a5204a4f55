/**
 * Inputs of the LambdaMART trainer: the ranking dataset shape and the training
 * parameters, resolved once against frozen defaults and validated with messages that
 * name the offending option (STYLE.md habit 4).
 */

/**
 * Candidate rows grouped by query. Row `r`'s features are
 * `features[r * featureNames.length + f]`; rows of one query are consecutive.
 */
export interface RankingDataset {
  /** rows * numFeatures values, row-major. NaN means "missing"; +-Infinity is refused. */
  features: Float32Array;
  /** Graded relevance per row: 0 = irrelevant, 1+ = relevant (higher is better). */
  labels: Float32Array;
  /** Consecutive query-group sizes; their sum is the row count. */
  groups: Uint32Array;
  /** One name per feature column, written to the model as `feature_names`. */
  featureNames: string[];
}

/** Training parameters (LightGBM names where one exists). */
export interface LambdaMartParams {
  /** Maximum number of boosting rounds (trees). Default 100. */
  n_estimators: number;
  /** Maximum leaves per tree; trees grow leaf-wise (best gain first). Default 31. */
  num_leaves: number;
  /** Maximum tree depth; -1 means unlimited (num_leaves still bounds the tree). Default -1. */
  max_depth: number;
  /** Shrinkage applied to every leaf value. Default 0.1. */
  learning_rate: number;
  /** Minimum rows in a leaf. Default 20. */
  min_data_in_leaf: number;
  /** Minimum sum of hessians in a leaf. Default 1e-3. */
  min_sum_hessian: number;
  /** L2 regularisation added to the hessian sum in gains and leaf values. Default 0. */
  lambda_l2: number;
  /** A split must gain more than this. Default 0. */
  min_gain_to_split: number;
  /** Fraction of features each tree may split on (sampled per tree). Default 1. */
  feature_fraction: number;
  /** Fraction of training rows each tree is fit on (sampled per row). Default 1 (off). */
  bagging_fraction: number;
  /** Re-sample the bag every this many rounds (used when bagging_fraction < 1). Default 1. */
  bagging_freq: number;
  /** Maximum bins per feature, the missing-value bin included (2..256). Default 255. */
  max_bin: number;
  /** k of NDCG@k: truncation of the lambda gradients and the early-stopping metric. Default 3. */
  ndcg_at: number;
  /**
   * Stop after this many rounds without a validation gain and return the model truncated
   * to the best round; 0 disables both (every round's tree is kept). Default 20.
   */
  early_stopping_rounds: number;
  /** Fraction of query groups held out for validation (whole groups). Default 0.1. */
  validation_fraction: number;
  /** Steepness of the pairwise sigmoid in the LambdaRank gradient. Default 1. */
  sigmoid: number;
  /** Seed of the trainer's own PRNG (validation split, bagging, feature sampling). Default 42. */
  seed: number;
}

export const DEFAULT_PARAMS: Readonly<LambdaMartParams> = Object.freeze({
  n_estimators: 100,
  num_leaves: 31,
  max_depth: -1,
  learning_rate: 0.1,
  min_data_in_leaf: 20,
  min_sum_hessian: 1e-3,
  lambda_l2: 0,
  min_gain_to_split: 0,
  feature_fraction: 1,
  bagging_fraction: 1,
  bagging_freq: 1,
  max_bin: 255,
  ndcg_at: 3,
  early_stopping_rounds: 20,
  validation_fraction: 0.1,
  sigmoid: 1,
  seed: 42,
});

type Check = (v: number) => boolean;
const int = (lo: number, hi = Number.MAX_SAFE_INTEGER): Check => (v) => Number.isInteger(v) && v >= lo && v <= hi;
const real = (lo: number, hi: number, loOpen = false): Check => (v) =>
  Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;

const RULES: Record<keyof LambdaMartParams, [Check, string]> = {
  n_estimators: [int(1), 'an integer >= 1'],
  num_leaves: [int(2, 65536), 'an integer in [2, 65536]'],
  max_depth: [(v) => v === -1 || int(1, 64)(v), '-1 or an integer in [1, 64]'],
  learning_rate: [real(0, 10, true), 'a number in (0, 10]'],
  min_data_in_leaf: [int(1), 'an integer >= 1'],
  min_sum_hessian: [real(0, Infinity), 'a finite number >= 0'],
  lambda_l2: [real(0, Infinity), 'a finite number >= 0'],
  min_gain_to_split: [real(0, Infinity), 'a finite number >= 0'],
  feature_fraction: [real(0, 1, true), 'a number in (0, 1]'],
  bagging_fraction: [real(0, 1, true), 'a number in (0, 1]'],
  bagging_freq: [int(1), 'an integer >= 1'],
  max_bin: [int(2, 256), 'an integer in [2, 256]'],
  ndcg_at: [int(1), 'an integer >= 1'],
  early_stopping_rounds: [int(0), 'an integer >= 0'],
  validation_fraction: [real(0, 0.9), 'a number in [0, 0.9]'],
  sigmoid: [real(0, 100, true), 'a number in (0, 100]'],
  seed: [int(0, 0xffffffff), 'an integer in [0, 2^32)'],
};

/** Merges `params` over the defaults; throws a RangeError naming the first bad option. */
export function resolveParams(params: Partial<LambdaMartParams> = {}): Readonly<LambdaMartParams> {
  const out: LambdaMartParams = { ...DEFAULT_PARAMS };
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!(key in RULES)) throw new RangeError(`lambdamart: unknown parameter "${key}"`);
    const [check, want] = RULES[key as keyof LambdaMartParams];
    if (typeof value !== 'number' || !check(value)) {
      throw new RangeError(`lambdamart: parameter "${key}" must be ${want}, got ${String(value)}`);
    }
    out[key as keyof LambdaMartParams] = value;
  }
  return Object.freeze(out);
}

/** Throws a RangeError when the dataset's arrays disagree or hold values the trainer refuses. */
export function validateDataset(data: RankingDataset): void {
  const { features, labels, groups, featureNames } = data;
  if (!(features instanceof Float32Array)) throw new RangeError('lambdamart: features must be a Float32Array');
  if (!(labels instanceof Float32Array)) throw new RangeError('lambdamart: labels must be a Float32Array');
  if (!(groups instanceof Uint32Array)) throw new RangeError('lambdamart: groups must be a Uint32Array');
  const numFeatures = featureNames.length;
  const rows = labels.length;
  if (numFeatures < 1) throw new RangeError('lambdamart: featureNames is empty');
  if (rows < 1) throw new RangeError('lambdamart: the dataset has no rows');
  if (features.length !== rows * numFeatures) {
    throw new RangeError(
      `lambdamart: features.length ${features.length} !== rows ${rows} * featureNames.length ${numFeatures}`,
    );
  }
  let sum = 0;
  for (let g = 0; g < groups.length; g++) {
    if (groups[g] === 0) throw new RangeError(`lambdamart: group ${g} is empty`);
    sum += groups[g];
  }
  if (sum !== rows) throw new RangeError(`lambdamart: group sizes sum to ${sum}, expected ${rows} rows`);
  for (let r = 0; r < rows; r++) {
    const y = labels[r];
    if (!(y >= 0) || y > 31) throw new RangeError(`lambdamart: label of row ${r} is ${y}; expected 0..31`);
  }
  for (let i = 0; i < features.length; i++) {
    const x = features[i];
    // +-Infinity cannot be told apart from the largest finite threshold in a model file
    // (thresholds must be finite), so it would make training and serving disagree.
    if (x === Infinity || x === -Infinity) {
      throw new RangeError(
        `lambdamart: feature "${featureNames[i % numFeatures]}" of row ${Math.floor(i / numFeatures)} is infinite`,
      );
    }
  }
}
