// Gradient-boosted tree ensemble evaluator (format: docs/ranker-format.md).
//
// LOAD FORMAT. The model arrives in flat StaticArrays held by globals, structure of
// arrays, all trees back to back, children in the file's tree-local encoding. JS fills
// them in place through the *Ptr getters (core-wasm/loader.ts):
//
//   nodeFeature     i32  split feature index          } length totalNodes
//   nodeThreshold   f32  go left when x <= threshold  }
//   nodeDefaultLeft u8   direction when x is NaN      }
//   nodeLeft/Right  i32  >= 0 internal node, < 0 leaf ~index
//   leafValue       f32  length totalLeaves
//   treeNodeOffset  i32  length numTrees + 1: first node of tree t; last = totalNodes
//   treeLeafOffset  i32  length numTrees + 1: first leaf of tree t; last = totalLeaves
//
// SCORING FORMAT. finishModel checks every index once and builds `packed`: one 16-byte
// record per internal node and per leaf (a visit touches one cache line, not five):
//
//        internal node                  leaf
//   [0]  key byte offset in the row     0
//   [1]  orderKey(threshold)            i32.MAX_VALUE (every key <= it: always "left")
//   [2]  left record (byte offset)      itself
//   [3]  right record (byte offset)     leaf value (f32 bits)
//
// The hot loop reads these fields with load<T>(record, offset) on raw pointers (the
// std's own idiom under unchecked()); finishModel has proved every offset in range.
//
// Leaves point to themselves, so extra steps past a leaf are harmless: every row takes
// a fixed number of steps per tree (treeSteps, about the expected depth) with no
// data-dependent branch, then finishes any deeper path in a checked loop. Mispredicted
// loop exits were the largest cost of the plain walk on varied inputs.
//
// KEYS. Comparisons run on integer order keys, not floats. orderKey maps every non-NaN
// f32 to an i32 in the same order (+0 and -0 differ by one; thresholds use +0's key for
// both, which keeps `x <= 0` true for either zero). scoreBatch converts each row once
// into two key arrays: NaN -> i32.MAX_VALUE (loses every `<=`: goes right) and NaN ->
// i32.MIN_VALUE (wins every `<=`: goes left). A default-left node's key offset points
// into the second array, so one integer compare per node gives `x <= thr`, NaN by
// default_left. The TS reference compares floats directly; the parity test holds the
// two bit-identical.
//
// Allocation happens only in allocModel and ensureBatch; callers must re-create their
// views of `memory` after either, because memory may grow. scoreBatch never allocates.
//
// Runtime: "minimal" (TLSF + mark & sweep that runs only when __collect is called).
// The incremental runtime spills every managed local to a shadow stack on each access,
// which costs extra stores per node in the scoring loop. Here the only roots are the
// globals below, and the two functions that drop arrays call __collect at a point
// where no managed local is live, so replaced models and buffers are freed.

// Shared error strings (one copy each in the data segment).
const E_NO_MODEL = "ranker: no model loaded";
const E_MODEL_STATE = "ranker: finishModel called without a fresh allocModel";
const E_SIZE = "ranker: size out of range";
const E_BATCH = "ranker: rows/stride exceed the batch buffer or stride < num_features";

// Largest element count of any one array: keeps record byte offsets ((nodes + leaves)
// << 4) inside positive i32 and sizes far below 4 GiB.
const MAX_ELEMENTS: u64 = 1 << 24;
const LEAF_THRESHOLD: i32 = i32.MAX_VALUE;

// Model state: 0 = none, 1 = allocated and waiting for finishModel, 2 = ready.
let modelState: i32 = 0;
let numTrees: i32 = 0;
let numNodes: i32 = 0;
let numLeaves: i32 = 0;
let numFeatures: i32 = 0;
let baseScore: f32 = 0;

let nodeFeature = new StaticArray<i32>(0);
let nodeThreshold = new StaticArray<f32>(0);
let nodeDefaultLeft = new StaticArray<u8>(0);
let nodeLeft = new StaticArray<i32>(0);
let nodeRight = new StaticArray<i32>(0);
let leafValue = new StaticArray<f32>(0);
let treeNodeOffset = new StaticArray<i32>(1);
let treeLeafOffset = new StaticArray<i32>(1);

let packed = new StaticArray<u32>(0);
let treeRoot = new StaticArray<i32>(0); // byte offset of the root record
let treeSteps = new StaticArray<i32>(0); // unchecked steps per tree
let nodeDepth = new StaticArray<i32>(0); // scratch for finishModel

// Reusable batch buffers: input rows x stride f32, output one f32 per row, and the
// input's order keys (2 x numFeatures per row), which scoreBatch fills.
let batchInput = new StaticArray<f32>(0);
let batchOutput = new StaticArray<f32>(0);
let batchKeys = new StaticArray<i32>(0);

/** Order-preserving integer key of a non-NaN f32 (see the header). */
@inline function orderKey(x: f32): i32 {
  const b = reinterpret<i32>(x);
  return b ^ ((b >> 31) & 0x7fffffff);
}

@inline function checkSize(n: i32): void {
  if (n < 0 || <u64>n > MAX_ELEMENTS) throw new RangeError(E_SIZE);
}

/**
 * Replaces the model with zeroed arrays of the given sizes. The previous arrays become
 * unreachable and are freed. Fill them through the *Ptr getters, then call finishModel.
 */
export function allocModel(trees: i32, totalNodes: i32, totalLeaves: i32, features: i32, base: f32): void {
  checkSize(trees);
  checkSize(totalNodes);
  checkSize(totalLeaves);
  checkSize(features);
  if (features < 1) throw new RangeError(E_SIZE);
  // Drop the old model first so its memory is reused by the allocations below.
  modelState = 0;
  nodeFeature = new StaticArray<i32>(0);
  nodeThreshold = new StaticArray<f32>(0);
  nodeDefaultLeft = new StaticArray<u8>(0);
  nodeLeft = new StaticArray<i32>(0);
  nodeRight = new StaticArray<i32>(0);
  leafValue = new StaticArray<f32>(0);
  packed = new StaticArray<u32>(0);
  treeRoot = new StaticArray<i32>(0);
  treeSteps = new StaticArray<i32>(0);
  nodeDepth = new StaticArray<i32>(0);
  __collect(); // safe: no managed locals are live here

  numTrees = trees;
  numNodes = totalNodes;
  numLeaves = totalLeaves;
  numFeatures = features;
  baseScore = base;
  nodeFeature = new StaticArray<i32>(totalNodes);
  nodeThreshold = new StaticArray<f32>(totalNodes);
  nodeDefaultLeft = new StaticArray<u8>(totalNodes);
  nodeLeft = new StaticArray<i32>(totalNodes);
  nodeRight = new StaticArray<i32>(totalNodes);
  leafValue = new StaticArray<f32>(totalLeaves);
  treeNodeOffset = new StaticArray<i32>(trees + 1);
  treeLeafOffset = new StaticArray<i32>(trees + 1);
  packed = new StaticArray<u32>((totalNodes + totalLeaves) << 2);
  treeRoot = new StaticArray<i32>(trees);
  treeSteps = new StaticArray<i32>(trees);
  nodeDepth = new StaticArray<i32>(totalNodes);
  modelState = 1;
}

export function nodeFeaturePtr(): usize { return changetype<usize>(nodeFeature); }
export function nodeThresholdPtr(): usize { return changetype<usize>(nodeThreshold); }
export function nodeDefaultLeftPtr(): usize { return changetype<usize>(nodeDefaultLeft); }
export function nodeLeftPtr(): usize { return changetype<usize>(nodeLeft); }
export function nodeRightPtr(): usize { return changetype<usize>(nodeRight); }
export function leafValuePtr(): usize { return changetype<usize>(leafValue); }
export function treeNodeOffsetPtr(): usize { return changetype<usize>(treeNodeOffset); }
export function treeLeafOffsetPtr(): usize { return changetype<usize>(treeLeafOffset); }

@inline function childInRange(child: i32, nodeCount: i32, leafCount: i32): bool {
  return child >= 0 ? child < nodeCount : ~child < leafCount;
}

/** Record index of a tree-local child: internal nodes first, then all leaves. */
@inline function recordOf(child: i32, nodeBase: i32, leafBase: i32): i32 {
  return child >= 0 ? nodeBase + child : numNodes + leafBase + ~child;
}

/**
 * Unchecked steps for one tree: the expected path length if every split sent half the
 * rows each way (sum over leaves of depth * 2^-depth), rounded up. Depths come from
 * relaxing depth[child] = depth[parent] + 1 for at most nodeCount passes, so this ends
 * even on a malformed tree. Any value is safe (leaves absorb extra steps, and the
 * scoring loop finishes longer paths); this one balances wasted steps on shallow leaves
 * against mispredicted exits on deep ones. The plain mean leaf depth overshoots on
 * chain-like trees, where most rows leave in the first few levels (2x slower there).
 */
function stepsFor(nodeBase: i32, nodeCount: i32): i32 {
  if (nodeCount == 0) return 0;
  for (let i = 0; i < nodeCount; i++) unchecked(nodeDepth[nodeBase + i] = 0);
  let changed = true;
  for (let pass = 0; changed && pass <= nodeCount; pass++) {
    changed = false;
    for (let i = 0; i < nodeCount; i++) {
      const n = nodeBase + i;
      const d = unchecked(nodeDepth[n]) + 1;
      const l = unchecked(nodeLeft[n]);
      const r = unchecked(nodeRight[n]);
      if (l >= 0 && unchecked(nodeDepth[nodeBase + l]) < d) { unchecked(nodeDepth[nodeBase + l] = d); changed = true; }
      if (r >= 0 && unchecked(nodeDepth[nodeBase + r]) < d) { unchecked(nodeDepth[nodeBase + r] = d); changed = true; }
    }
  }
  let expected: f64 = 0;
  for (let i = 0; i < nodeCount; i++) {
    const n = nodeBase + i;
    const d = <f64>(unchecked(nodeDepth[n]) + 1);
    const w = d * Math.pow(2, -d);
    if (unchecked(nodeLeft[n]) < 0) expected += w;
    if (unchecked(nodeRight[n]) < 0) expected += w;
  }
  return <i32>Math.ceil(expected);
}

/**
 * Checks every offset, feature index and child index of the freshly filled model once,
 * builds the scoring records and marks the model ready. Returns 0 on success, otherwise
 * 1 + the global index of the first bad node, or -1 for bad tree offsets; on failure
 * no model is loaded. (Cycles are the validator's job: core-wasm/model.ts refuses them
 * before any model gets here; a cycle here could only make scoring loop forever.)
 */
export function finishModel(): i32 {
  if (modelState != 1) throw new Error(E_MODEL_STATE);
  modelState = 0;
  if (unchecked(treeNodeOffset[0]) != 0 || unchecked(treeLeafOffset[0]) != 0) return -1;
  if (unchecked(treeNodeOffset[numTrees]) != numNodes || unchecked(treeLeafOffset[numTrees]) != numLeaves) return -1;
  for (let t = 0; t < numTrees; t++) {
    const nodeBase = unchecked(treeNodeOffset[t]);
    const nodeCount = unchecked(treeNodeOffset[t + 1]) - nodeBase;
    const leafBase = unchecked(treeLeafOffset[t]);
    const leafCount = unchecked(treeLeafOffset[t + 1]) - leafBase;
    // Offsets start at 0, end at the totals and step by >= 0, so every range is in bounds.
    if (nodeCount < 0 || leafCount != nodeCount + 1) return -1;
    for (let i = 0; i < nodeCount; i++) {
      const n = nodeBase + i;
      const f = unchecked(nodeFeature[n]);
      const l = unchecked(nodeLeft[n]);
      const r = unchecked(nodeRight[n]);
      if (f < 0 || f >= numFeatures || !childInRange(l, nodeCount, leafCount) || !childInRange(r, nodeCount, leafCount)) {
        return n + 1;
      }
      const thr = unchecked(nodeThreshold[n]);
      const k = n << 2;
      // Default-left nodes read the key array where NaN is i32.MIN_VALUE.
      unchecked(packed[k] = <u32>((unchecked(nodeDefaultLeft[n]) != 0 ? numFeatures + f : f) << 2));
      // -0 and +0 are equal as floats but not as keys: use +0's key for both.
      unchecked(packed[k + 1] = <u32>(thr == 0 ? 0 : orderKey(thr)));
      unchecked(packed[k + 2] = <u32>recordOf(l, nodeBase, leafBase) << 4);
      unchecked(packed[k + 3] = <u32>recordOf(r, nodeBase, leafBase) << 4);
    }
    for (let i = 0; i < leafCount; i++) {
      const rec = numNodes + leafBase + i;
      const k = rec << 2;
      unchecked(packed[k] = 0);
      unchecked(packed[k + 1] = <u32>LEAF_THRESHOLD);
      unchecked(packed[k + 2] = <u32>rec << 4);
      unchecked(packed[k + 3] = reinterpret<u32>(unchecked(leafValue[leafBase + i])));
    }
    unchecked(treeRoot[t] = (nodeCount > 0 ? nodeBase : numNodes + leafBase) << 4);
    unchecked(treeSteps[t] = stepsFor(nodeBase, nodeCount));
  }
  modelState = 2;
  return 0;
}

export function modelFeatures(): i32 { return modelState == 2 ? numFeatures : 0; }

/**
 * Makes sure the batch buffers hold maxRows rows of `stride` f32 features; grows (never
 * shrinks) them when needed. Returns the input buffer pointer.
 */
export function ensureBatch(maxRows: i32, stride: i32): usize {
  if (maxRows < 0 || stride < 0) throw new RangeError(E_SIZE);
  const need = <u64>maxRows * <u64>stride;
  if (need > MAX_ELEMENTS || <u64>maxRows > MAX_ELEMENTS) throw new RangeError(E_SIZE);
  let collected = false;
  if (need > <u64>batchInput.length) {
    batchInput = new StaticArray<f32>(0);
    batchKeys = new StaticArray<i32>(0);
    __collect(); // free the old buffers before asking for bigger ones
    collected = true;
    batchInput = new StaticArray<f32>(<i32>need);
    batchKeys = new StaticArray<i32>(<i32>need << 1); // rows x 2 x nf <= 2 x rows x stride
  }
  if (maxRows > batchOutput.length) {
    batchOutput = new StaticArray<f32>(0);
    if (!collected) __collect();
    batchOutput = new StaticArray<f32>(maxRows);
  }
  return changetype<usize>(batchInput);
}

export function inputPtr(): usize { return changetype<usize>(batchInput); }
export function outputPtr(): usize { return changetype<usize>(batchOutput); }

/** One step: the record the row with keys at `keys` goes to from the record at `rec`. */
@inline function step(nodes: usize, node: i32, keys: usize): i32 {
  const rec = nodes + <usize>node;
  const key = load<i32>(keys + <usize>load<u32>(rec));
  return select<i32>(load<i32>(rec, 8), load<i32>(rec, 12), key <= load<i32>(rec, 4));
}

@inline function isLeaf(nodes: usize, node: i32): bool {
  return load<i32>(nodes + <usize>node, 4) == LEAF_THRESHOLD;
}

/** Finishes a path the fixed steps did not: rare, and the only data-dependent branch. */
@inline function walk(nodes: usize, node: i32, keys: usize): i32 {
  while (!isLeaf(nodes, node)) node = step(nodes, node, keys);
  return node;
}

/** Adds the leaf value of record `node` to the f32 score at `out`. */
@inline function addLeaf(out: usize, nodes: usize, node: i32): void {
  store<f32>(out, load<f32>(out) + load<f32>(nodes + <usize>node, 12));
}

/**
 * Scores `rows` rows of `stride` f32 features from the input buffer into the output
 * buffer. Bounds are checked here once: finishModel proved every record offset and key
 * offset in range and the checks below cover the batch, so the loops read memory
 * without further checks.
 *
 * Trees are the outer loop (the tree's records stay hot), rows go four at a time (four
 * independent load chains per step keep the CPU busy). Each output receives base_score
 * and then its leaves in tree order, in f32: the format's semantics.
 */
export function scoreBatch(rows: i32, stride: i32): void {
  if (modelState != 2) throw new Error(E_NO_MODEL);
  if (rows < 0 || stride < numFeatures || <u64>rows * <u64>stride > <u64>batchInput.length || rows > batchOutput.length) {
    throw new RangeError(E_BATCH);
  }
  // Plain pointers in locals: the optimizer keeps them in registers across the loops.
  const nodes = changetype<usize>(packed);
  const roots = changetype<usize>(treeRoot);
  const steps = changetype<usize>(treeSteps);
  const trees = <usize>numTrees;
  const nf = <usize>numFeatures;
  const keyBytes = nf << 3; // two key arrays per row
  const rowBytes = <usize>stride << 2;
  const keys0 = changetype<usize>(batchKeys);
  const out0 = changetype<usize>(batchOutput);
  const outEnd = out0 + (<usize>rows << 2);
  const out4End = out0 + (<usize>(rows & ~3) << 2);

  let src = changetype<usize>(batchInput);
  let dst = keys0;
  for (let o = out0; o < outEnd; o += 4) {
    for (let f: usize = 0; f < nf; f++) {
      const x = load<f32>(src + (f << 2));
      const key = orderKey(x);
      const nan = x != x;
      store<i32>(dst + (f << 2), select<i32>(i32.MAX_VALUE, key, nan));
      store<i32>(dst + ((nf + f) << 2), select<i32>(i32.MIN_VALUE, key, nan));
    }
    store<f32>(o, baseScore);
    src += rowBytes;
    dst += keyBytes;
  }

  for (let t: usize = 0; t < trees; t++) {
    const root = load<i32>(roots + (t << 2));
    const k = load<i32>(steps + (t << 2));
    let keys = keys0;
    let o = out0;
    for (; o < out4End; o += 16) {
      const k0 = keys;
      const k1 = k0 + keyBytes;
      const k2 = k1 + keyBytes;
      const k3 = k2 + keyBytes;
      let n0 = root, n1 = root, n2 = root, n3 = root;
      for (let s = 0; s < k; s++) {
        n0 = step(nodes, n0, k0);
        n1 = step(nodes, n1, k1);
        n2 = step(nodes, n2, k2);
        n3 = step(nodes, n3, k3);
      }
      addLeaf(o, nodes, walk(nodes, n0, k0));
      addLeaf(o + 4, nodes, walk(nodes, n1, k1));
      addLeaf(o + 8, nodes, walk(nodes, n2, k2));
      addLeaf(o + 12, nodes, walk(nodes, n3, k3));
      keys = k3 + keyBytes;
    }
    for (; o < outEnd; o += 4) {
      addLeaf(o, nodes, walk(nodes, root, keys));
      keys += keyBytes;
    }
  }
}

/** Microbenchmark: scores the current batch n times; returns a checksum of the outputs. */
export function bench(n: i32, rows: i32, stride: i32): f64 {
  let checksum: f64 = 0;
  const outPtr = changetype<usize>(batchOutput);
  for (let i = 0; i < n; i++) {
    scoreBatch(rows, stride);
    if (rows > 0) checksum += <f64>load<f32>(outPtr);
  }
  return checksum;
}
