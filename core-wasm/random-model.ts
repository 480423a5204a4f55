/**
 * Seeded random tree ensembles and feature rows, in the model file format. Used by the
 * parity test and the micro benchmark, and handy as a tiny fixture model elsewhere.
 *
 * Trees are grown by splitting leaves until the leaf budget is used, then numbered in a
 * random order (root stays node 0), so evaluators cannot rely on children following
 * their parents. Thresholds and inputs share a pool of values so `x == threshold`
 * happens often.
 */
import type { RankerModelJson, TreeJson } from './model';
import { RANKER_FORMAT, RANKER_FORMAT_VERSION } from './model';
import { mulberry32 } from '../engine/prng';

/** Seeded float stream in [0, 1) (engine/prng.ts); same seed => same stream. */
export const makeRng = mulberry32;

export type TreeShape = 'random' | 'balanced' | 'chain';

export interface RandomModelOptions {
  numFeatures: number;
  numTrees: number;
  /** Leaves per tree (1 = single-leaf tree). A number, or [min, max] drawn per tree. */
  leaves: number | readonly [number, number];
  /** random: split any leaf; balanced: split the shallowest; chain: split the deepest (depth = leaves - 1). */
  shape?: TreeShape;
  /** Probability that a tree is a single leaf regardless of `leaves`. Default 0. */
  singleLeafRate?: number;
  /** Largest |leaf value|. Default 1. */
  leafScale?: number;
  baseScore?: number;
  /** Values thresholds are drawn from half of the time (the rest are random). */
  valuePool?: readonly number[];
}

/** Values used for both thresholds and inputs, so comparisons hit equality. */
export const DEFAULT_VALUE_POOL: readonly number[] = [
  -3.4e38, -1e6, -3.5, -1, -0.5, -1e-30, -1e-40, -0, 0, 1e-45, 1e-40, 0.1, 0.25, 0.5, 1, 2, 3.14159, 12,
  100, 65504, 1e20, 3.4e38,
];

interface Node { left: Node | undefined; right: Node | undefined; depth: number }

function growTree(rng: () => number, leaves: number, shape: TreeShape): Node {
  const root: Node = { left: undefined, right: undefined, depth: 0 };
  const open: Node[] = [root];
  for (let count = 1; count < leaves; count++) {
    let pick: number;
    if (shape === 'chain') pick = open.length - 1;
    else if (shape === 'balanced') pick = 0;
    else pick = Math.floor(rng() * open.length);
    const leaf = open.splice(pick, 1)[0];
    leaf.left = { left: undefined, right: undefined, depth: leaf.depth + 1 };
    leaf.right = { left: undefined, right: undefined, depth: leaf.depth + 1 };
    // chain: keep splitting one side; which side alternates at random.
    if (shape === 'chain' && rng() < 0.5) open.push(leaf.right, leaf.left);
    else open.push(leaf.left, leaf.right);
  }
  return root;
}

/** A random permutation of 0..n-1; with keepFirst, index 0 stays in place (the root). */
function shuffled(rng: () => number, n: number, keepFirst: boolean): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  const start = keepFirst ? 1 : 0;
  for (let i = n - 1; i > start; i--) {
    const j = start + Math.floor(rng() * (i - start + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function randomThreshold(rng: () => number, pool: readonly number[]): number {
  if (rng() < 0.5) return pool[Math.floor(rng() * pool.length)];
  return Math.fround((rng() - 0.5) * 10);
}

function randomTree(rng: () => number, opts: RandomModelOptions, leaves: number): TreeJson {
  const root = growTree(rng, leaves, opts.shape ?? 'random');
  const internal: Node[] = [];
  const leafNodes: Node[] = [];
  const walk = (n: Node): void => {
    if (n.left === undefined || n.right === undefined) leafNodes.push(n);
    else {
      internal.push(n);
      walk(n.left);
      walk(n.right);
    }
  };
  walk(root);
  const nodeIndex = shuffled(rng, internal.length, true); // root stays 0
  const leafIndex = shuffled(rng, leafNodes.length, false);
  const indexOf = new Map<Node, number>();
  internal.forEach((n, i) => indexOf.set(n, nodeIndex[i]));
  leafNodes.forEach((n, i) => indexOf.set(n, ~leafIndex[i]));

  const n = internal.length;
  const tree: TreeJson = {
    split_feature: new Array<number>(n),
    threshold: new Array<number>(n),
    default_left: new Array<boolean>(n),
    left_child: new Array<number>(n),
    right_child: new Array<number>(n),
    leaf_value: new Array<number>(n + 1),
  };
  const pool = opts.valuePool ?? DEFAULT_VALUE_POOL;
  const scale = opts.leafScale ?? 1;
  for (const node of internal) {
    const i = indexOf.get(node) as number;
    tree.split_feature[i] = Math.floor(rng() * opts.numFeatures);
    tree.threshold[i] = randomThreshold(rng, pool);
    tree.default_left[i] = rng() < 0.5;
    tree.left_child[i] = indexOf.get(node.left as Node) as number;
    tree.right_child[i] = indexOf.get(node.right as Node) as number;
  }
  for (let i = 0; i <= n; i++) tree.leaf_value[i] = (rng() * 2 - 1) * scale;
  return tree;
}

/** A random model in the file format (valid by construction). */
export function randomModelJson(rng: () => number, opts: RandomModelOptions): RankerModelJson {
  const trees: TreeJson[] = [];
  for (let t = 0; t < opts.numTrees; t++) {
    const [lo, hi] = typeof opts.leaves === 'number' ? [opts.leaves, opts.leaves] : opts.leaves;
    let leaves = lo + Math.floor(rng() * (hi - lo + 1));
    if (rng() < (opts.singleLeafRate ?? 0)) leaves = 1;
    trees.push(randomTree(rng, opts, leaves));
  }
  return {
    format: RANKER_FORMAT,
    format_version: RANKER_FORMAT_VERSION,
    model_version: 'random-model',
    objective: 'lambdarank',
    feature_names: Array.from({ length: opts.numFeatures }, (_, i) => `f${i}`),
    num_features: opts.numFeatures,
    base_score: opts.baseScore ?? 0,
    trees,
    training: { params: { generator: 'core-wasm/random-model.ts' } },
    metrics: {},
    created_at: new Date(0).toISOString(),
  };
}

/**
 * rows x stride float32 features. `specialRate` of the values are NaN, +-Infinity or
 * +-0; a third of the rest come from the shared value pool (exact threshold hits).
 */
export function randomRows(rng: () => number, rows: number, stride: number, specialRate = 0.1,
  pool: readonly number[] = DEFAULT_VALUE_POOL): Float32Array {
  const out = new Float32Array(rows * stride);
  const specials = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < out.length; i++) {
    const u = rng();
    if (u < specialRate) out[i] = specials[Math.floor(rng() * specials.length)];
    else if (u < specialRate + (1 - specialRate) / 3) out[i] = pool[Math.floor(rng() * pool.length)];
    else out[i] = (rng() - 0.5) * 10;
  }
  return out;
}
