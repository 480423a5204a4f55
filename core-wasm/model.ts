/**
 * Ranker model file (docs/ranker-format.md): JSON types, validator and loader.
 *
 * Both evaluators (WASM in loader.ts, TS in reference.ts) take the RankerModel this
 * module produces, so a model that passes here is one that both can walk safely: every
 * child index in range, every node and leaf reachable exactly once (no cycles), every
 * number finite as float32.
 */
import { readFileSync } from 'node:fs';

export const RANKER_FORMAT = 'opensesame-gbdt';
export const RANKER_FORMAT_VERSION = 1;
/** Format versions this build can read. */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];
/** Upper bound on nodes/leaves over all trees; matches the WASM evaluator's array limit. */
export const MAX_TOTAL_NODES = 1 << 24;

// ---------------------------------------------------------------------------------------
// JSON shapes, as written by training/ and read from models/ranker.json.

/** One tree: internal-node arrays of equal length n, and n + 1 leaf values. */
export interface TreeJson {
  /** Feature index per internal node, 0 <= f < num_features. */
  split_feature: number[];
  /** Go left when x <= threshold, compared as float32. */
  threshold: number[];
  /** Direction when x is NaN (missing). */
  default_left: boolean[];
  /** >= 0: internal node index; < 0: leaf ~index (-1 => leaf 0). */
  left_child: number[];
  right_child: number[];
  leaf_value: number[];
}

/** Free-form record of how the model was made. */
export interface RankerTrainingJson {
  params?: Record<string, unknown>;
  data_hash?: string;
  rows?: number;
  groups?: number;
  duration_ms?: number;
  [key: string]: unknown;
}

export interface RankerModelJson {
  format: typeof RANKER_FORMAT;
  format_version: number;
  /** Shown in responses as model_version. */
  model_version: string;
  objective: string;
  /** Length num_features; the order is the order of the input row. */
  feature_names: string[];
  num_features: number;
  base_score: number;
  trees: TreeJson[];
  training?: RankerTrainingJson;
  metrics?: Record<string, unknown>;
  created_at?: string;
}

// ---------------------------------------------------------------------------------------
// Parsed form.

/** One tree as typed-array views into RankerModel.flat (tree-local child encoding). */
export interface RankerTree {
  readonly splitFeature: Int32Array;
  readonly threshold: Float32Array;
  /** 1 = NaN goes left. */
  readonly defaultLeft: Uint8Array;
  readonly leftChild: Int32Array;
  readonly rightChild: Int32Array;
  readonly leafValue: Float32Array;
}

/**
 * All trees back to back. Tree t owns nodes [treeNodeOffset[t], treeNodeOffset[t+1]) and
 * leaves [treeLeafOffset[t], treeLeafOffset[t+1]); children keep the file's tree-local
 * encoding. This is the layout the WASM evaluator copies in one `set` per array.
 */
export interface FlatTrees {
  readonly numTrees: number;
  readonly totalNodes: number;
  readonly totalLeaves: number;
  readonly splitFeature: Int32Array;
  readonly threshold: Float32Array;
  readonly defaultLeft: Uint8Array;
  readonly leftChild: Int32Array;
  readonly rightChild: Int32Array;
  readonly leafValue: Float32Array;
  /** Length numTrees + 1; the last entry is totalNodes. */
  readonly treeNodeOffset: Int32Array;
  /** Length numTrees + 1; the last entry is totalLeaves. */
  readonly treeLeafOffset: Int32Array;
}

export interface RankerModel {
  readonly formatVersion: number;
  readonly modelVersion: string;
  readonly objective: string;
  readonly featureNames: readonly string[];
  readonly numFeatures: number;
  /** Already rounded to float32. */
  readonly baseScore: number;
  readonly trees: readonly RankerTree[];
  readonly flat: FlatTrees;
  readonly training: Readonly<RankerTrainingJson>;
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string | undefined;
}

export type RankerModelErrorCode =
  | 'MODEL_IO' // the file could not be read
  | 'MODEL_FORMAT' // not JSON, not an object, wrong `format`, a field of the wrong type
  | 'MODEL_VERSION' // unsupported `format_version`
  | 'MODEL_FEATURES' // feature list inconsistent, or differs from the server's
  | 'MODEL_CORRUPT'; // trees malformed: lengths, indices, reachability, non-finite values

export class RankerModelError extends Error {
  /** Stable machine-readable code. */
  readonly code: RankerModelErrorCode;
  /** JSON path of the offending value when there is one, e.g. "trees[3].left_child[2]". */
  readonly where: string | undefined;

  constructor(code: RankerModelErrorCode, message: string, where?: string, options?: { cause?: unknown }) {
    super(where === undefined ? `ranker model: ${message}` : `ranker model: ${where}: ${message}`, options);
    this.name = 'RankerModelError';
    this.code = code;
    this.where = where;
  }
}

// ---------------------------------------------------------------------------------------
// Validation.

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(code: RankerModelErrorCode, message: string, where?: string): never {
  throw new RankerModelError(code, message, where);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** A JSON number that stays finite once rounded to float32. */
function toFiniteF32(v: unknown, where: string): number {
  if (typeof v !== 'number') fail('MODEL_CORRUPT', `expected a number, got ${describe(v)}`, where);
  const f = Math.fround(v);
  if (!Number.isFinite(f)) fail('MODEL_CORRUPT', `${v} is not a finite float32 value`, where);
  return f;
}

function checkFeatures(json: Record<string, unknown>, expected: readonly string[] | undefined): string[] {
  const names = json.feature_names;
  if (!Array.isArray(names)) fail('MODEL_FEATURES', `expected an array of names, got ${describe(names)}`, 'feature_names');
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (typeof n !== 'string' || n.length === 0) fail('MODEL_FEATURES', `expected a non-empty string, got ${describe(n)}`, `feature_names[${i}]`);
    if (seen.has(n)) fail('MODEL_FEATURES', `duplicate feature name ${JSON.stringify(n)}`, `feature_names[${i}]`);
    seen.add(n);
  });
  const numFeatures = json.num_features;
  if (typeof numFeatures !== 'number' || !Number.isInteger(numFeatures) || numFeatures < 1) {
    fail('MODEL_FEATURES', `expected a positive integer, got ${describe(numFeatures)}`, 'num_features');
  }
  if (names.length !== numFeatures) {
    fail('MODEL_FEATURES', `num_features is ${numFeatures} but feature_names has ${names.length} entries`, 'num_features');
  }
  if (expected !== undefined) {
    if (expected.length !== names.length) {
      fail('MODEL_FEATURES', `feature-count mismatch: the model has ${names.length} features, the server computes ${expected.length}`);
    }
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== expected[i]) {
        fail('MODEL_FEATURES', `feature-order mismatch at index ${i}: the model has ${JSON.stringify(names[i])}, the server computes ${JSON.stringify(expected[i])}`, `feature_names[${i}]`);
      }
    }
  }
  return names as string[];
}

/** The six arrays of a tree, checked for type and equal length; returns n (internal nodes). */
function checkTreeShape(tree: unknown, where: string): { t: Record<string, unknown[]>; n: number } {
  if (!isRecord(tree)) fail('MODEL_CORRUPT', `expected a tree object, got ${describe(tree)}`, where);
  const keys = ['split_feature', 'threshold', 'default_left', 'left_child', 'right_child', 'leaf_value'] as const;
  for (const k of keys) {
    if (!Array.isArray(tree[k])) fail('MODEL_CORRUPT', `expected an array, got ${describe(tree[k])}`, `${where}.${k}`);
  }
  const t = tree as Record<string, unknown[]>;
  const n = t.split_feature.length;
  for (const k of ['threshold', 'default_left', 'left_child', 'right_child'] as const) {
    if (t[k].length !== n) {
      fail('MODEL_CORRUPT', `array lengths disagree: ${k} has ${t[k].length} entries, split_feature has ${n}`, where);
    }
  }
  if (t.leaf_value.length !== n + 1) {
    fail('MODEL_CORRUPT', `leaf count mismatch: ${n} internal nodes need ${n + 1} leaf values, leaf_value has ${t.leaf_value.length}`, `${where}.leaf_value`);
  }
  return { t, n };
}

/**
 * Walks the tree from node 0 and insists that every internal node and every leaf is
 * reached exactly once: this refuses cycles (a node reached again) and orphans.
 */
function checkReachability(left: Int32Array, right: Int32Array, n: number, where: string): void {
  if (n === 0) return;
  const seenNode = new Uint8Array(n);
  const seenLeaf = new Uint8Array(n + 1);
  const stack: number[] = [0];
  seenNode[0] = 1;
  while (stack.length > 0) {
    const node = stack.pop() as number;
    for (const [side, child] of [['left_child', left[node]], ['right_child', right[node]]] as const) {
      if (child >= 0) {
        if (child === 0 || seenNode[child] === 1) {
          fail('MODEL_CORRUPT', `node ${child} is reachable twice (cycle or shared subtree)`, `${where}.${side}[${node}]`);
        }
        seenNode[child] = 1;
        stack.push(child);
      } else {
        const leaf = ~child;
        if (seenLeaf[leaf] === 1) fail('MODEL_CORRUPT', `leaf ${leaf} is reachable twice`, `${where}.${side}[${node}]`);
        seenLeaf[leaf] = 1;
      }
    }
  }
  const orphanNode = seenNode.indexOf(0);
  if (orphanNode >= 0) fail('MODEL_CORRUPT', `internal node ${orphanNode} is not reachable from the root`, where);
  const orphanLeaf = seenLeaf.indexOf(0);
  if (orphanLeaf >= 0) fail('MODEL_CORRUPT', `leaf ${orphanLeaf} is not reachable from the root`, where);
}

function checkChild(v: unknown, n: number, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail('MODEL_CORRUPT', `child index must be an integer, got ${describe(v)}`, where);
  // -v - 1 rather than ~v: ~ would wrap values outside the int32 range into range.
  if (v >= n || -v - 1 > n) {
    const range = v >= 0 ? `internal node ${v} (tree has ${n} internal nodes)` : `leaf ${-v - 1} (tree has ${n + 1} leaves)`;
    fail('MODEL_CORRUPT', `child index ${v} is out of range: ${range}`, where);
  }
  return v;
}

/**
 * Validates a parsed model JSON value (docs/ranker-format.md, Validation) and converts it
 * to typed arrays. Throws RankerModelError with a stable code and a message naming the
 * problem.
 *
 * @param expectedFeatureNames the server's feature list; when given, the model's
 *   feature_names must equal it in count and order (MODEL_FEATURES otherwise).
 */
export function parseRankerModel(json: unknown, expectedFeatureNames?: readonly string[]): RankerModel {
  if (!isRecord(json)) fail('MODEL_FORMAT', `expected a JSON object, got ${describe(json)}`);
  if (json.format !== RANKER_FORMAT) {
    fail('MODEL_FORMAT', `format is ${describe(json.format)}, expected "${RANKER_FORMAT}"`, 'format');
  }
  const version = json.format_version;
  if (typeof version !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(version)) {
    fail('MODEL_VERSION', `format_version ${describe(version)} is not supported (supported: ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`, 'format_version');
  }
  const modelVersion = json.model_version;
  if (typeof modelVersion !== 'string' || modelVersion.length === 0) {
    fail('MODEL_FORMAT', `expected a non-empty string, got ${describe(modelVersion)}`, 'model_version');
  }
  const objective = json.objective ?? 'lambdarank';
  if (typeof objective !== 'string') fail('MODEL_FORMAT', `expected a string, got ${describe(objective)}`, 'objective');
  for (const k of ['training', 'metrics'] as const) {
    if (json[k] !== undefined && !isRecord(json[k])) fail('MODEL_FORMAT', `expected an object, got ${describe(json[k])}`, k);
  }
  if (json.created_at !== undefined && typeof json.created_at !== 'string') {
    fail('MODEL_FORMAT', `expected an ISO date string, got ${describe(json.created_at)}`, 'created_at');
  }

  const featureNames = checkFeatures(json, expectedFeatureNames);
  const numFeatures = featureNames.length;
  const baseScore = toFiniteF32(json.base_score, 'base_score');

  const treesJson = json.trees;
  if (!Array.isArray(treesJson)) fail('MODEL_FORMAT', `expected an array of trees, got ${describe(treesJson)}`, 'trees');

  // First pass: shapes and sizes, so the flat arrays are allocated once.
  const shapes = treesJson.map((tree, i) => checkTreeShape(tree, `trees[${i}]`));
  const numTrees = shapes.length;
  const treeNodeOffset = new Int32Array(numTrees + 1);
  const treeLeafOffset = new Int32Array(numTrees + 1);
  let totalNodes = 0;
  let totalLeaves = 0;
  shapes.forEach(({ n }, i) => {
    totalNodes += n;
    totalLeaves += n + 1;
    treeNodeOffset[i + 1] = totalNodes;
    treeLeafOffset[i + 1] = totalLeaves;
  });
  if (totalLeaves > MAX_TOTAL_NODES) fail('MODEL_CORRUPT', `model too large: ${totalLeaves} leaves (limit ${MAX_TOTAL_NODES})`, 'trees');

  const flat: FlatTrees = {
    numTrees,
    totalNodes,
    totalLeaves,
    splitFeature: new Int32Array(totalNodes),
    threshold: new Float32Array(totalNodes),
    defaultLeft: new Uint8Array(totalNodes),
    leftChild: new Int32Array(totalNodes),
    rightChild: new Int32Array(totalNodes),
    leafValue: new Float32Array(totalLeaves),
    treeNodeOffset,
    treeLeafOffset,
  };

  const trees: RankerTree[] = shapes.map(({ t, n }, ti) => {
    const where = `trees[${ti}]`;
    const nb = treeNodeOffset[ti];
    const lb = treeLeafOffset[ti];
    const tree: RankerTree = {
      splitFeature: flat.splitFeature.subarray(nb, nb + n),
      threshold: flat.threshold.subarray(nb, nb + n),
      defaultLeft: flat.defaultLeft.subarray(nb, nb + n),
      leftChild: flat.leftChild.subarray(nb, nb + n),
      rightChild: flat.rightChild.subarray(nb, nb + n),
      leafValue: flat.leafValue.subarray(lb, lb + n + 1),
    };
    for (let i = 0; i < n; i++) {
      const f = t.split_feature[i];
      if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f >= numFeatures) {
        fail('MODEL_CORRUPT', `feature index ${describe(f)} is outside [0, ${numFeatures})`, `${where}.split_feature[${i}]`);
      }
      tree.splitFeature[i] = f;
      tree.threshold[i] = toFiniteF32(t.threshold[i], `${where}.threshold[${i}]`);
      const dl = t.default_left[i];
      if (typeof dl !== 'boolean') fail('MODEL_CORRUPT', `expected true or false, got ${describe(dl)}`, `${where}.default_left[${i}]`);
      tree.defaultLeft[i] = dl ? 1 : 0;
      tree.leftChild[i] = checkChild(t.left_child[i], n, `${where}.left_child[${i}]`);
      tree.rightChild[i] = checkChild(t.right_child[i], n, `${where}.right_child[${i}]`);
    }
    for (let i = 0; i <= n; i++) tree.leafValue[i] = toFiniteF32(t.leaf_value[i], `${where}.leaf_value[${i}]`);
    checkReachability(tree.leftChild, tree.rightChild, n, where);
    return tree;
  });

  return {
    formatVersion: version,
    modelVersion,
    objective,
    featureNames: Object.freeze(featureNames.slice()),
    numFeatures,
    baseScore,
    trees,
    flat,
    training: (json.training ?? {}) as RankerTrainingJson,
    metrics: (json.metrics ?? {}) as Record<string, unknown>,
    createdAt: json.created_at as string | undefined,
  };
}

/** Parses model text (JSON); bad JSON is MODEL_FORMAT. */
export function parseRankerModelText(text: string, expectedFeatureNames?: readonly string[]): RankerModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RankerModelError('MODEL_FORMAT', `not valid JSON (${(err as Error).message})`, undefined, { cause: err });
  }
  return parseRankerModel(json, expectedFeatureNames);
}

/**
 * Reads and validates a model file. Synchronous on purpose: it runs at start-up and on
 * model swaps (in each worker), never per request. Unreadable file is MODEL_IO.
 */
export function loadRankerModelFile(path: string, expectedFeatureNames?: readonly string[]): RankerModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RankerModelError('MODEL_IO', `cannot read ${path}: ${(err as Error).message}`, undefined, { cause: err });
  }
  return parseRankerModelText(text, expectedFeatureNames);
}
