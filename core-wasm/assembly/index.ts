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
//   [0]  key byte offset in a group     0
//   [1]  orderKey(threshold)            i32.MAX_VALUE (every key <= it: always "left")
//   [2]  left child record (address)    itself
//   [3]  0                              leaf value (f32 bits)
//
// A tree's records are laid out breadth first with the two children of a node side by
// side, so the right child is the left one + 16 bytes: a step loads the key offset and
// threshold as one i64, the key and the left child, three loads instead of five (the
// loads bound the scoring loop). Addresses are absolute in linear memory (packed never
// moves once built: the allocator does not relocate, only allocModel replaces it).
//
// The hot loop reads these fields with load<T>(record, offset) on raw pointers (the
// std's own idiom under unchecked()); finishModel has proved every offset in range.
//
// Leaves point to themselves, so extra steps past a leaf are harmless: every group of
// LANES rows takes a fixed number of steps per tree (treeSteps, about the expected depth)
// with no data-dependent branch, then steps all lanes together until every one is at a
// leaf: one loop exit per group, not per row. Mispredicted loop exits were the largest
// cost of the plain walk on varied inputs.
//
// KEYS. Comparisons run on integer order keys, not floats. orderKey maps every non-NaN
// f32 to an i32 in the same order (+0 and -0 differ by one; thresholds use +0's key for
// both, which keeps `x <= 0` true for either zero). scoreBatch converts each row once
// into two key arrays: NaN -> i32.MAX_VALUE (loses every `<=`: goes right) and NaN ->
// i32.MIN_VALUE (wins every `<=`: goes left). A default-left node's key offset points
// into the second array, so one integer compare per node gives `x <= thr`, NaN by
// default_left. Rows go in groups of LANES, keys interleaved lane by lane (key q of lane
// j at group + (q * LANES + j) * 4): one group pointer serves all lanes of a step, and
// the record's key offset is the same for every lane. The TS reference compares floats directly; the parity test holds the
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
// Rows scored side by side: eight independent load chains per step (four left the CPU
// waiting on loads; eight chains still fit the registers with one shared key pointer).
const LANES: i32 = 8;
const LANE_SHIFT: i32 = 3;

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
let recordChild = new StaticArray<i32>(0); // scratch for finishModel: tree-local child of each record

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
  recordChild = new StaticArray<i32>(0);
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
  recordChild = new StaticArray<i32>(totalNodes + totalLeaves);
  ensureKeys(false);
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

/** Address of record `rec` in `packed`. */
@inline function recordAt(rec: i32): u32 {
  return <u32>changetype<usize>(packed) + (<u32>rec << 4);
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
 * 1 + the global index of the first bad node, or -1 for bad tree offsets or a tree
 * with more children than records (a shared subtree); on failure no model is loaded. (Cycles are the validator's job: core-wasm/model.ts refuses them
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
      if (f < 0 || f >= numFeatures || !childInRange(unchecked(nodeLeft[n]), nodeCount, leafCount) || !childInRange(unchecked(nodeRight[n]), nodeCount, leafCount)) {
        return n + 1;
      }
    }
    // Breadth first from the root: record `slot` holds tree-local child recordChild[slot];
    // an internal node's children take the next two free slots.
    const recBase = nodeBase + leafBase;
    const recEnd = recBase + nodeCount + leafCount;
    let free = recBase;
    unchecked(recordChild[free++] = nodeCount > 0 ? 0 : ~0);
    for (let slot = recBase; slot < free; slot++) {
      const child = unchecked(recordChild[slot]);
      const k = slot << 2;
      if (child >= 0) {
        if (free + 2 > recEnd) return -1;
        const n = nodeBase + child;
        const f = unchecked(nodeFeature[n]);
        const thr = unchecked(nodeThreshold[n]);
        // Default-left nodes read the key array where NaN is i32.MIN_VALUE.
        unchecked(packed[k] = <u32>((unchecked(nodeDefaultLeft[n]) != 0 ? numFeatures + f : f) << (LANE_SHIFT + 2)));
        // -0 and +0 are equal as floats but not as keys: use +0's key for both.
        unchecked(packed[k + 1] = <u32>(thr == 0 ? 0 : orderKey(thr)));
        unchecked(packed[k + 2] = recordAt(free));
        unchecked(packed[k + 3] = 0);
        unchecked(recordChild[free++] = unchecked(nodeLeft[n]));
        unchecked(recordChild[free++] = unchecked(nodeRight[n]));
      } else {
        unchecked(packed[k] = 0);
        unchecked(packed[k + 1] = <u32>LEAF_THRESHOLD);
        unchecked(packed[k + 2] = recordAt(slot));
        unchecked(packed[k + 3] = reinterpret<u32>(unchecked(leafValue[leafBase + ~child])));
      }
    }
    unchecked(treeRoot[t] = <i32>recordAt(recBase));
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
    __collect(); // free the old buffer before asking for a bigger one
    collected = true;
    batchInput = new StaticArray<f32>(<i32>need);
  }
  if (maxRows > batchOutput.length) {
    batchOutput = new StaticArray<f32>(0);
    if (!collected) __collect();
    collected = true;
    batchOutput = new StaticArray<f32>(maxRows);
  }
  ensureKeys(collected);
  return changetype<usize>(batchInput);
}

/**
 * Grows the key buffer to whole lane groups of every row batchOutput holds, 2 x
 * numFeatures keys each. Depends on the model's feature count, so allocModel calls it too.
 */
function ensureKeys(collected: bool): void {
  const need = <u64>((batchOutput.length + LANES - 1) & ~(LANES - 1)) * <u64>numFeatures * 2;
  if (need <= <u64>batchKeys.length) return;
  if (need > MAX_ELEMENTS << 1) throw new RangeError(E_SIZE);
  batchKeys = new StaticArray<i32>(0);
  if (!collected) __collect();
  batchKeys = new StaticArray<i32>(<i32>need);
}

export function inputPtr(): usize { return changetype<usize>(batchInput); }
export function outputPtr(): usize { return changetype<usize>(batchOutput); }

/** One step: the record the row whose keys are at `keys` goes to from the record at `rec`. */
@inline function step(rec: i32, keys: usize): i32 {
  const head = load<u64>(rec); // key offset (low word), threshold key (high word)
  const key = load<i32>(keys + <usize><u32>head);
  return load<i32>(rec, 8) + select<i32>(0, 16, key <= <i32>(head >> 32));
}

@inline function isLeaf(rec: i32): bool {
  return load<i32>(rec, 4) == LEAF_THRESHOLD;
}

/** Adds the leaf value of record `rec` to the f32 score at `out`. */
@inline function addLeaf(out: usize, rec: i32): void {
  store<f32>(out, load<f32>(out) + load<f32>(rec, 12));
}

/**
 * Scores `rows` rows of `stride` f32 features from the input buffer into the output
 * buffer. Bounds are checked here once: finishModel proved every record address and key
 * offset in range and the checks below cover the batch, so the loops read memory
 * without further checks.
 *
 * Trees are the outer loop (the tree's records stay hot), rows go LANES at a time
 * (independent load chains per step keep the CPU busy). Each output receives base_score
 * and then its leaves in tree order, in f32: the format's semantics. The last group's
 * unused lanes walk keys left from earlier batches (any key is a valid path) and add
 * nothing.
 */
export function scoreBatch(rows: i32, stride: i32): void {
  if (modelState != 2) throw new Error(E_NO_MODEL);
  if (rows < 0 || stride < numFeatures || <u64>rows * <u64>stride > <u64>batchInput.length || rows > batchOutput.length) {
    throw new RangeError(E_BATCH);
  }
  // ensureKeys keeps this true; the loops below rely on it.
  if (<u64>((rows + LANES - 1) & ~(LANES - 1)) * <u64>numFeatures * 2 > <u64>batchKeys.length) throw new RangeError(E_BATCH);
  // Plain pointers in locals: the optimizer keeps them in registers across the loops.
  const roots = changetype<usize>(treeRoot);
  const steps = changetype<usize>(treeSteps);
  const trees = <usize>numTrees;
  const nf = <usize>numFeatures;
  const groupBytes = nf << (LANE_SHIFT + 3); // LANES rows x two key arrays
  const rowBytes = <usize>stride << 2;
  const keys0 = changetype<usize>(batchKeys);
  const out0 = changetype<usize>(batchOutput);
  const groups = <usize>((rows + LANES - 1) >> LANE_SHIFT);
  let src = changetype<usize>(batchInput);
  for (let r: usize = 0; r < <usize>rows; r++) {
    // Lane j of group g: keys at keys0 + g * groupBytes + j * 4, stepping LANES * 4 per key.
    const dst = keys0 + (r >> LANE_SHIFT) * groupBytes + ((r & (LANES - 1)) << 2);
    for (let f: usize = 0; f < nf; f++) {
      const x = load<f32>(src + (f << 2));
      const key = orderKey(x);
      const nan = x != x;
      store<i32>(dst + (f << (LANE_SHIFT + 2)), select<i32>(i32.MAX_VALUE, key, nan));
      store<i32>(dst + ((nf + f) << (LANE_SHIFT + 2)), select<i32>(i32.MIN_VALUE, key, nan));
    }
    store<f32>(out0 + (r << 2), baseScore);
    src += rowBytes;
  }
  for (let t: usize = 0; t < trees; t++) {
    const root = load<i32>(roots + (t << 2));
    const k = load<i32>(steps + (t << 2));
    let keys = keys0;
    let o = out0;
    for (let g: usize = 0; g < groups; g++) {
      let n0 = root, n1 = root, n2 = root, n3 = root, n4 = root, n5 = root, n6 = root, n7 = root;
      // k steps unchecked, then on until every lane is at a leaf.
      for (let s = 0; s < k || !(isLeaf(n0) & isLeaf(n1) & isLeaf(n2) & isLeaf(n3) & isLeaf(n4) & isLeaf(n5) & isLeaf(n6) & isLeaf(n7)); s++) {
        n0 = step(n0, keys);
        n1 = step(n1, keys + 4);
        n2 = step(n2, keys + 8);
        n3 = step(n3, keys + 12);
        n4 = step(n4, keys + 16);
        n5 = step(n5, keys + 20);
        n6 = step(n6, keys + 24);
        n7 = step(n7, keys + 28);
      }
      const left = <usize>rows - (g << LANE_SHIFT); // real rows in this group, if < LANES
      addLeaf(o, n0);
      if (left > 1) addLeaf(o + 4, n1);
      if (left > 2) addLeaf(o + 8, n2);
      if (left > 3) addLeaf(o + 12, n3);
      if (left > 4) addLeaf(o + 16, n4);
      if (left > 5) addLeaf(o + 20, n5);
      if (left > 6) addLeaf(o + 24, n6);
      if (left > 7) addLeaf(o + 28, n7);
      keys += groupBytes;
      o += LANES << 2;
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
