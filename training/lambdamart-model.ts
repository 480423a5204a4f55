/**
 * The trainer's side of docs/ranker-format.md: the JSON shape it writes, the conversion
 * from grown trees, and a plain evaluator used by tests and training-time checks.
 *
 * The interfaces mirror the documented JSON field for field; they are declared here so
 * the trainer does not depend on the server-side validator module.
 */
import type { BinnedData } from './lambdamart-binning';
import type { GrownTree } from './lambdamart-tree';
import { RANKER_FORMAT, RANKER_FORMAT_VERSION, type RankerModelJson, type RankerTrainingJson, type TreeJson } from '../core-wasm/model';

/** The trainer writes exactly the format core-wasm/model.ts validates (one definition of it). */
export const MODEL_FORMAT = RANKER_FORMAT;
export const MODEL_FORMAT_VERSION = RANKER_FORMAT_VERSION;

export type ModelTreeJson = TreeJson;

/** A trained model: the file format with the fields the trainer always fills. */
export interface ModelJson extends RankerModelJson {
  training: RankerTrainingJson & { params: Record<string, number>; data_hash: string; rows: number; groups: number; duration_ms: number };
  metrics: Record<string, number>;
  created_at: string;
}

/** Converts a grown tree to its JSON form; bin splits become float32 thresholds. */
export function treeToJson(tree: GrownTree, binned: BinnedData): ModelTreeJson {
  const n = tree.numInternal;
  const threshold: number[] = new Array(n);
  for (let i = 0; i < n; i++) threshold[i] = binned.thresholds[tree.splitFeature[i]][tree.splitBin[i]];
  return {
    split_feature: Array.from(tree.splitFeature),
    threshold,
    default_left: Array.from(tree.defaultLeft, (v) => v === 1),
    left_child: Array.from(tree.leftChild),
    right_child: Array.from(tree.rightChild),
    leaf_value: Array.from(tree.leafValue),
  };
}

/** The subset of the model JSON that scoring needs. */
export interface ScorableModel {
  num_features: number;
  base_score: number;
  trees: ModelTreeJson[];
}

/**
 * Scores `rows` rows of `features` (row-major, `stride` >= num_features values per row)
 * with the model JSON, per the documented semantics: float32 `x <= threshold`, NaN
 * follows default_left, leaf values summed in float32 in tree order from base_score.
 * A plain evaluator for tests and offline checks, not the serving path.
 */
export function predictRows(
  model: ScorableModel,
  features: ArrayLike<number>,
  rows: number,
  stride: number,
): Float32Array {
  if (stride < model.num_features) throw new RangeError(`predictRows: stride ${stride} < num_features ${model.num_features}`);
  if (features.length < rows * stride) throw new RangeError(`predictRows: ${features.length} values < ${rows} rows * stride ${stride}`);
  const out = new Float32Array(rows);
  const trees = model.trees.map((t) => ({
    f: Int32Array.from(t.split_feature),
    thr: Float32Array.from(t.threshold),
    dl: Uint8Array.from(t.default_left, (b) => (b ? 1 : 0)),
    lc: Int32Array.from(t.left_child),
    rc: Int32Array.from(t.right_child),
    leaf: Float32Array.from(t.leaf_value),
  }));
  const base = Math.fround(model.base_score);
  for (let r = 0; r < rows; r++) {
    const at = r * stride;
    out[r] = base;
    for (const t of trees) {
      let leaf = 0;
      if (t.f.length > 0) {
        let node = 0;
        for (;;) {
          const x = Math.fround(features[at + t.f[node]]);
          const left = x !== x ? t.dl[node] === 1 : x <= t.thr[node];
          const next = left ? t.lc[node] : t.rc[node];
          if (next < 0) {
            leaf = ~next;
            break;
          }
          node = next;
        }
      }
      // Float32Array stores round the double sum of two float32 values, which equals a
      // float32 addition (double has more than 2 * 24 + 2 bits), so this is float32 maths.
      out[r] += t.leaf[leaf];
    }
  }
  return out;
}
