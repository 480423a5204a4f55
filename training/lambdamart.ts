/**
 * LambdaMART trainer: gradient-boosted regression trees fit to LambdaRank gradients for
 * NDCG@k, written as an `opensesame-gbdt` model (docs/ranker-format.md).
 *
 * Pipeline of one run:
 *   validate -> split groups (train / validation, whole groups, seeded)
 *   -> quantile-bin features (bounds from training rows)            lambdamart-binning.ts
 *   -> per round: lambdas from current scores                        lambdamart-rank.ts
 *                 grow a leaf-wise histogram tree                    lambdamart-tree.ts
 *                 add it to every row's float32 score, score validation NDCG@k
 *   -> keep the trees up to the best validation round               lambdamart-model.ts
 *
 * Training scores are accumulated exactly as the evaluators do (float32, tree order, and
 * splits that are the model file's float32 `x <= threshold`), so the exported model
 * reproduces them bit for bit — `TrainResult.scores` lets tests check that.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { binFeatures } from './lambdamart-binning';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, treeToJson, type ModelJson } from './lambdamart-model';
import { resolveParams, validateDataset, type LambdaMartParams, type RankingDataset } from './lambdamart-params';
import {
  RankScratch,
  groupSetFromSizes,
  inverseMaxDcg,
  lambdaGradients,
  maxGroupSize,
  ndcgForGroups,
  type GroupSet,
} from './lambdamart-rank';
import { createRng, shuffle, type Rng } from './lambdamart-rng';
import { TreeLearner, walkBinned, type GrownTree } from './lambdamart-tree';

export { DEFAULT_PARAMS, type LambdaMartParams, type RankingDataset } from './lambdamart-params';
export { predictRows, type ModelJson, type ModelTreeJson } from './lambdamart-model';

export interface TrainOptions {
  /** Called after every boosting round with the validation NDCG@k (NaN without validation). */
  onProgress?: (iter: number, total: number, validNdcg: number) => void;
}

export interface TrainMetrics {
  /** NDCG@k of the returned model on the training groups. */
  train_ndcg_at_k: number;
  /** NDCG@k of the returned model on the validation groups (NaN when there are none). */
  valid_ndcg_at_k: number;
  /**
   * Trees kept: the round with the best validation NDCG@k (1-based), or every round run
   * when early stopping is off or there is no validation metric.
   */
  best_iteration: number;
  /** Rounds actually run (>= best_iteration; < n_estimators when stopped early). */
  iterations: number;
  duration_ms: number;
}

export interface TrainResult {
  model: ModelJson;
  metrics: TrainMetrics;
  /** sha256 (hex) over the features, labels and groups bytes. */
  dataHash: string;
  /** Training-time float32 score of every row under the returned (truncated) model. */
  scores: Float32Array;
}

/**
 * Mean NDCG@k over the groups that hold at least one relevant item (label > 0); groups
 * with none are skipped, and NaN is returned when no group qualifies. Gain 2^label - 1,
 * discount 1/log2(rank + 2); tied scores rank lower labels first (pessimistic), so a
 * constant scorer earns no credit from the input order.
 */
export function ndcgAtK(scores: ArrayLike<number>, labels: ArrayLike<number>, groups: Uint32Array, k: number): number {
  let rows = 0;
  for (let g = 0; g < groups.length; g++) rows += groups[g];
  if (scores.length !== rows || labels.length !== rows) {
    throw new RangeError(`ndcgAtK: groups cover ${rows} rows, scores ${scores.length}, labels ${labels.length}`);
  }
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`ndcgAtK: k must be an integer >= 1, got ${k}`);
  return ndcgForGroups(scores, labels, groupSetFromSizes(groups), k);
}

/** sha256 over the raw bytes of the three arrays, in that order. */
export function datasetHash(data: RankingDataset): string {
  const h = createHash('sha256');
  for (const a of [data.features, data.labels, data.groups]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

interface Split {
  train: GroupSet;
  valid: GroupSet;
  trainRows: Uint32Array;
  validRows: Uint32Array;
}

/** Holds out round(fraction * groups) whole groups (at least one, never all), chosen by the rng. */
function splitGroups(all: GroupSet, fraction: number, rng: Rng): Split {
  const n = all.sizes.length;
  const nValid = fraction > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(fraction * n))) : 0;
  const perm = new Uint32Array(n);
  for (let g = 0; g < n; g++) perm[g] = g;
  shuffle(perm, rng);
  const isValid = new Uint8Array(n);
  for (let i = 0; i < nValid; i++) isValid[perm[i]] = 1;
  const pick = (want: number): [GroupSet, Uint32Array] => {
    const starts: number[] = [];
    const sizes: number[] = [];
    let rows = 0;
    for (let g = 0; g < n; g++) {
      if (isValid[g] !== want) continue;
      starts.push(all.starts[g]);
      sizes.push(all.sizes[g]);
      rows += all.sizes[g];
    }
    const rowIds = new Uint32Array(rows);
    let at = 0;
    for (let i = 0; i < starts.length; i++) for (let r = 0; r < sizes[i]; r++) rowIds[at++] = starts[i] + r;
    return [{ starts: Uint32Array.from(starts), sizes: Uint32Array.from(sizes) }, rowIds];
  };
  const [train, trainRows] = pick(0);
  const [valid, validRows] = pick(1);
  return { train, valid, trainRows, validRows };
}

/** Bernoulli row sample of `rows` (never empty) and its complement. */
function bag(rows: Uint32Array, fraction: number, rng: Rng): [Uint32Array, Uint32Array] {
  const inBag: number[] = [];
  const outOfBag: number[] = [];
  for (let i = 0; i < rows.length; i++) (rng.next() < fraction ? inBag : outOfBag).push(rows[i]);
  if (inBag.length === 0) return [rows, new Uint32Array(0)];
  return [Uint32Array.from(inBag), Uint32Array.from(outOfBag)];
}

function sampleFeatures(mask: Uint8Array, fraction: number, rng: Rng): void {
  const n = mask.length;
  const keep = Math.max(1, Math.round(fraction * n));
  const perm = new Uint32Array(n);
  for (let f = 0; f < n; f++) perm[f] = f;
  shuffle(perm, rng);
  mask.fill(0);
  for (let i = 0; i < keep; i++) mask[perm[i]] = 1;
}

/**
 * Trains a LambdaMART ranker. Synchronous and CPU-bound: run it off the serving thread.
 * Throws a RangeError for bad parameters or an inconsistent dataset.
 */
export function trainLambdaMart(
  data: RankingDataset,
  params: Partial<LambdaMartParams> = {},
  opts: TrainOptions = {},
): TrainResult {
  const p = resolveParams(params);
  validateDataset(data);
  const t0 = performance.now();
  const dataHash = datasetHash(data);
  const { features, labels, featureNames } = data;
  const numFeatures = featureNames.length;
  const rows = labels.length;
  const k = p.ndcg_at;
  const rng = createRng(p.seed);

  const all = groupSetFromSizes(data.groups);
  const split = splitGroups(all, p.validation_fraction, rng);
  const binned = binFeatures(features, numFeatures, split.trainRows, p.max_bin);
  const scratch = new RankScratch(maxGroupSize(all));
  const invMaxDcg = inverseMaxDcg(labels, split.train, k, scratch);
  const pow2Labels = Float64Array.from(labels, (y) => 2 ** y);
  const grad = new Float64Array(rows);
  const hess = new Float64Array(rows);
  const scores = new Float32Array(rows);
  const learner = new TreeLearner(
    binned,
    {
      numLeaves: p.num_leaves,
      maxDepth: p.max_depth,
      minDataInLeaf: p.min_data_in_leaf,
      minSumHessian: p.min_sum_hessian,
      lambdaL2: p.lambda_l2,
      minGainToSplit: p.min_gain_to_split,
      learningRate: p.learning_rate,
    },
    split.trainRows.length,
  );
  const featureMask = new Uint8Array(numFeatures).fill(1);
  const bagging = p.bagging_fraction < 1;
  const sampling = p.feature_fraction < 1;
  let inBag: Uint32Array = split.trainRows;
  let outOfBag: Uint32Array = new Uint32Array(0);

  const trees: GrownTree[] = [];
  let best = 0;
  let bestNdcg = -Infinity;
  let bestScores: Float32Array | undefined;
  let iterations = 0;
  for (let it = 0; it < p.n_estimators; it++) {
    lambdaGradients(scores, labels, split.train, invMaxDcg, k, p.sigmoid, grad, hess, scratch, pow2Labels);
    if (bagging && it % p.bagging_freq === 0) [inBag, outOfBag] = bag(split.trainRows, p.bagging_fraction, rng);
    if (sampling) sampleFeatures(featureMask, p.feature_fraction, rng);
    const tree = learner.grow(grad, hess, inBag, featureMask);
    learner.addToGrownRows(tree, scores);
    for (let i = 0; i < outOfBag.length; i++) scores[outOfBag[i]] += walkBinned(tree, binned, outOfBag[i]);
    for (let i = 0; i < split.validRows.length; i++) {
      scores[split.validRows[i]] += walkBinned(tree, binned, split.validRows[i]);
    }
    trees.push(tree);
    iterations = it + 1;
    const validNdcg = ndcgForGroups(scores, labels, split.valid, k, scratch);
    opts.onProgress?.(iterations, p.n_estimators, validNdcg);
    if (p.early_stopping_rounds === 0 || Number.isNaN(validNdcg)) {
      // Early stopping off, or no validation metric to stop on: keep every tree.
      best = iterations;
      bestScores = undefined;
    } else if (validNdcg > bestNdcg) {
      best = iterations;
      bestNdcg = validNdcg;
      bestScores = scores.slice();
    } else if (iterations - best >= p.early_stopping_rounds) {
      break;
    }
    // A single-leaf tree leaves the gradients as they were; without sampling every later
    // round would grow the same tree again.
    if (tree.numInternal === 0 && !bagging && !sampling) break;
  }
  const finalScores = bestScores ?? scores;
  const kept = trees.slice(0, best);
  const trainNdcg = ndcgForGroups(finalScores, labels, split.train, k, scratch);
  const validNdcg = ndcgForGroups(finalScores, labels, split.valid, k, scratch);
  const durationMs = Math.round(performance.now() - t0);

  const createdAt = new Date().toISOString();
  const metrics: Record<string, number> = { best_iteration: best, iterations };
  if (!Number.isNaN(trainNdcg)) metrics[`train_ndcg@${k}`] = trainNdcg;
  if (!Number.isNaN(validNdcg)) metrics[`valid_ndcg@${k}`] = validNdcg;
  const model: ModelJson = {
    format: MODEL_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    model_version: `ranker-${createdAt.slice(0, 10)}-${dataHash.slice(0, 8)}`,
    objective: 'lambdarank',
    feature_names: featureNames.slice(),
    num_features: numFeatures,
    base_score: 0,
    trees: kept.map((t) => treeToJson(t, binned)),
    training: {
      params: { ...p },
      data_hash: dataHash,
      rows,
      groups: data.groups.length,
      duration_ms: durationMs,
      train_rows: split.trainRows.length,
      valid_rows: split.validRows.length,
      valid_groups: split.valid.sizes.length,
    },
    metrics,
    created_at: createdAt,
  };
  return {
    model,
    metrics: {
      train_ndcg_at_k: trainNdcg,
      valid_ndcg_at_k: validNdcg,
      best_iteration: best,
      iterations,
      duration_ms: durationMs,
    },
    dataHash,
    scores: finalScores,
  };
}
