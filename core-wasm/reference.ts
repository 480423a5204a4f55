/**
 * Plain TypeScript evaluator of a ranker model: the reference the WASM evaluator is
 * tested against (test/wasm-parity.test.ts), and a fallback when WASM is unavailable.
 *
 * It deliberately walks each tree in its own tree-local encoding (RankerModel.trees)
 * rather than the rebased flat layout the WASM side uses, so the two share no indexing
 * code. Every float operation is rounded with Math.fround, which makes the result
 * bit-identical to WASM f32 arithmetic: a sum of two float32 values computed in float64
 * and rounded once is the correctly rounded float32 sum.
 */
import { checkBatchArgs } from './batch-args';
import type { RankerModel, RankerTree } from './model';

export class ReferenceEvaluator {
  readonly numFeatures: number;
  private readonly trees: readonly RankerTree[];
  private readonly baseScore: number;

  constructor(model: RankerModel) {
    this.numFeatures = model.numFeatures;
    this.trees = model.trees;
    this.baseScore = Math.fround(model.baseScore);
  }

  /**
   * Scores `rows` rows of `stride` float32 features (row-major, stride >= numFeatures;
   * values past numFeatures are ignored). Writes into `out` when given (length >= rows)
   * and returns the scores, one per row.
   */
  score(features: Float32Array, rows: number, stride: number, out?: Float32Array): Float32Array {
    const result = checkBatchArgs(features, rows, stride, this.numFeatures, out);
    for (let r = 0; r < rows; r++) {
      const row = r * stride;
      let sum = this.baseScore;
      for (const tree of this.trees) {
        sum = Math.fround(sum + tree.leafValue[leafOf(tree, features, row)]);
      }
      result[r] = sum;
    }
    return result;
  }
}

/** The leaf a row lands in: left when x <= threshold, NaN by default_left. */
function leafOf(tree: RankerTree, features: Float32Array, row: number): number {
  if (tree.splitFeature.length === 0) return 0;
  let node = 0;
  for (;;) {
    const x = features[row + tree.splitFeature[node]];
    const goLeft = Number.isNaN(x) ? tree.defaultLeft[node] === 1 : x <= tree.threshold[node];
    const child = goLeft ? tree.leftChild[node] : tree.rightChild[node];
    if (child < 0) return ~child;
    node = child;
  }
}
