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
// QUICKSCORER. When every tree has at most 32 leaves (trained models have 31), finishModel
// also builds the tables of QuickScorer (Lucchese et al., SIGIR 2015), and scoreBatch
// uses it instead of the walk: 2.1x faster on the shipped model's real batches. Each
// tree's leaves are numbered left to right, and a u32 per row and tree holds the leaves
// the row can still exit at (all ones at first). A node is "false" for a row when the
// row goes right (key > threshold key); then no leaf of its left subtree can be the exit,
// and its kill bits clear them. Once every false node of every tree has been applied,
// the exit leaf is the lowest bit left: nodes on the row's path never clear it, and a
// node off the path has the exit leaf in neither subtree. So the order nodes are applied
// in does not matter, and nodes come grouped into lists by key row (feature and NaN
// direction, as in the walk) sorted by threshold key: a row's false nodes of a list are
// a prefix of it. LANES rows go together, four per v128: one compare gives each lane's
// false flag for a node, and a list ends at the first node no lane is past. Keys of the
// pad lanes after the last row are i32.MIN_VALUE, so they end every list at once. Each
// row then adds the leaf values of its lowest bits in tree order, the same f32 sum as
// the walk and the reference.
//
// Allocation happens only in allocModel, finishModel (the node sort's scratch) and
// ensureBatch; callers must re-create their views of `memory` after any of them,
// because memory may grow. scoreBatch never allocates.
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
// QuickScorer's bitvectors are u32: one bit per leaf.
const QS_MAX_LEAVES: i32 = 32;

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

// QuickScorer tables (see QUICKSCORER in the header), built by finishModel when every
// tree has at most QS_MAX_LEAVES leaves; qsReady says they are in use.
let qsReady = false;
let qsAllowed = true; // allowQuickScorer(false) keeps the tree walk (benchmarks, tests)
let qsLeafCount = new StaticArray<i32>(0); // scratch per record: leaves under it
let qsLeafStart = new StaticArray<i32>(0); // scratch per record: position of its leftmost leaf
let qsRaw = new StaticArray<i32>(0); // scratch per internal node: list, threshold key, kill bits, bits offset
let qsOrder = new StaticArray<i32>(0); // scratch: internal nodes sorted by (list, threshold key)
let qsEntries = new StaticArray<i32>(0); // per internal node, sorted: threshold key, kill bits, bits offset
let qsLists = new StaticArray<i32>(0); // per non-empty list: key offset in a group, first entry, end (addresses)
let qsListCount: i32 = 0;
let qsLeaves = new StaticArray<f32>(0); // QS_MAX_LEAVES per tree: leaf values left to right
let qsBits = new StaticArray<u32>(0); // LANES per tree: the leaves each lane can still exit at

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
  qsReady = false;
  qsLeafCount = new StaticArray<i32>(0);
  qsLeafStart = new StaticArray<i32>(0);
  qsRaw = new StaticArray<i32>(0);
  qsOrder = new StaticArray<i32>(0);
  qsEntries = new StaticArray<i32>(0);
  qsLists = new StaticArray<i32>(0);
  qsLeaves = new StaticArray<f32>(0);
  qsBits = new StaticArray<u32>(0);
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
  // QuickScorer tables, unless the leaf total already shows a tree too large for them.
  if (totalLeaves <= trees * QS_MAX_LEAVES && <u64>trees * QS_MAX_LEAVES <= MAX_ELEMENTS) {
    qsLeafCount = new StaticArray<i32>(totalNodes + totalLeaves);
    qsLeafStart = new StaticArray<i32>(totalNodes + totalLeaves);
    qsRaw = new StaticArray<i32>(totalNodes << 2);
    qsOrder = new StaticArray<i32>(totalNodes);
    qsEntries = new StaticArray<i32>(totalNodes * 3);
    qsLists = new StaticArray<i32>(min(features << 1, totalNodes) * 3); // non-empty lists only
    qsLeaves = new StaticArray<f32>(trees * QS_MAX_LEAVES);
    qsBits = new StaticArray<u32>(trees * LANES);
  }
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
  qsReady = qsAllowed && buildQuickScorer();
  modelState = 2;
  return 0;
}

/** Record index of the left child of internal record `rec` (the right one is next). */
@inline function leftChildOf(rec: i32): i32 {
  return (<i32>unchecked(packed[(rec << 2) + 2]) - <i32>recordAt(0)) >> 4;
}

@inline function recordIsLeaf(rec: i32): bool {
  return unchecked(packed[(rec << 2) + 1]) == <u32>LEAF_THRESHOLD;
}

/** Order of internal nodes in the QuickScorer lists: by list, then by threshold key. */
function compareQsNodes(a: i32, b: i32): i32 {
  const la = unchecked(qsRaw[a << 2]);
  const lb = unchecked(qsRaw[b << 2]);
  if (la != lb) return la < lb ? -1 : 1;
  const ta = unchecked(qsRaw[(a << 2) + 1]);
  const tb = unchecked(qsRaw[(b << 2) + 1]);
  return ta < tb ? -1 : ta > tb ? 1 : a - b;
}

/**
 * Builds the QuickScorer tables from the scoring records finishModel has just laid out
 * (each tree's records are a proper tree by then: the breadth-first pass refuses
 * shared subtrees and cycles). Returns false, leaving the tree walk in charge, when a
 * tree has more than QS_MAX_LEAVES leaves.
 */
function buildQuickScorer(): bool {
  if (qsLeaves.length < numTrees * QS_MAX_LEAVES) return false;
  for (let t = 0; t < numTrees; t++) {
    if (unchecked(treeLeafOffset[t + 1]) - unchecked(treeLeafOffset[t]) > QS_MAX_LEAVES) return false;
  }
  let raw = 0;
  for (let t = 0; t < numTrees; t++) {
    const recBase = unchecked(treeNodeOffset[t]) + unchecked(treeLeafOffset[t]);
    const recEnd = unchecked(treeNodeOffset[t + 1]) + unchecked(treeLeafOffset[t + 1]);
    // Children come after their parent (breadth first): count leaves bottom up, then
    // hand out left-to-right positions top down.
    for (let rec = recEnd - 1; rec >= recBase; rec--) {
      if (recordIsLeaf(rec)) {
        unchecked(qsLeafCount[rec] = 1);
      } else {
        const l = leftChildOf(rec);
        unchecked(qsLeafCount[rec] = unchecked(qsLeafCount[l]) + unchecked(qsLeafCount[l + 1]));
      }
    }
    unchecked(qsLeafStart[recBase] = 0);
    for (let rec = recBase; rec < recEnd; rec++) {
      const start = unchecked(qsLeafStart[rec]);
      if (recordIsLeaf(rec)) {
        unchecked(qsLeaves[t * QS_MAX_LEAVES + start] = reinterpret<f32>(unchecked(packed[(rec << 2) + 3])));
        continue;
      }
      const l = leftChildOf(rec);
      const leftLeaves = unchecked(qsLeafCount[l]); // 1..QS_MAX_LEAVES - 1
      unchecked(qsLeafStart[l] = start);
      unchecked(qsLeafStart[l + 1] = start + leftLeaves);
      const r = raw << 2;
      unchecked(qsRaw[r] = <i32>(unchecked(packed[rec << 2]) >> (LANE_SHIFT + 2))); // key row q: the list
      unchecked(qsRaw[r + 1] = <i32>unchecked(packed[(rec << 2) + 1]));
      unchecked(qsRaw[r + 2] = <i32>(((<u32>1 << leftLeaves) - 1) << start));
      unchecked(qsRaw[r + 3] = t << (LANE_SHIFT + 2));
      unchecked(qsOrder[raw] = raw);
      raw++;
    }
  }
  qsOrder.sort(compareQsNodes);
  const entries = changetype<usize>(qsEntries);
  let lists = 0;
  let prev = -1;
  for (let i = 0; i < raw; i++) {
    const r = unchecked(qsOrder[i]) << 2;
    const list = unchecked(qsRaw[r]);
    const at = <i32>entries + i * 12;
    unchecked(qsEntries[i * 3] = unchecked(qsRaw[r + 1]));
    unchecked(qsEntries[i * 3 + 1] = unchecked(qsRaw[r + 2]));
    unchecked(qsEntries[i * 3 + 2] = unchecked(qsRaw[r + 3]));
    if (list != prev) {
      if (lists > 0) unchecked(qsLists[lists * 3 - 1] = at);
      unchecked(qsLists[lists * 3] = list << (LANE_SHIFT + 2));
      unchecked(qsLists[lists * 3 + 1] = at);
      lists++;
      prev = list;
    }
  }
  if (lists > 0) unchecked(qsLists[lists * 3 - 1] = <i32>entries + raw * 12);
  qsListCount = lists;
  return true;
}

export function modelFeatures(): i32 { return modelState == 2 ? numFeatures : 0; }

/** How scoreBatch scores the loaded model: 0 no model, 1 tree walk, 2 QuickScorer. */
export function scoringMethod(): i32 {
  return modelState != 2 ? 0 : qsReady ? 2 : 1;
}

/**
 * Whether models loaded from now on may use QuickScorer (the default). With false, every
 * model takes the tree walk, so both methods can be compared on one model.
 */
export function allowQuickScorer(allow: bool): void {
  qsAllowed = allow;
}

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
  if (qsReady) {
    scoreQuick(rows, keys0, groupBytes, out0);
    return;
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

/**
 * QuickScorer over the keys scoreBatch has filled: LANES rows at a time, every list's
 * nodes in ascending threshold order until no lane's key is above the threshold.
 */
function scoreQuick(rows: i32, keys0: usize, groupBytes: usize, out0: usize): void {
  const trees = <usize>numTrees;
  const bits0 = changetype<usize>(qsBits);
  const bitsEnd = bits0 + (trees << (LANE_SHIFT + 2));
  const leaves0 = changetype<usize>(qsLeaves);
  const lists0 = changetype<usize>(qsLists);
  const listsEnd = lists0 + <usize>qsListCount * 12;
  const ones = i32x4.splat(-1);
  // Lanes past the last row take the smallest key: they pass no threshold, so they never
  // keep a list going.
  const padded = <usize>((rows + LANES - 1) & ~(LANES - 1));
  for (let r = <usize>rows; r < padded; r++) {
    const dst = keys0 + (r >> LANE_SHIFT) * groupBytes + ((r & (LANES - 1)) << 2);
    for (let q: usize = 0, nq = <usize>numFeatures << 1; q < nq; q++) store<i32>(dst + (q << (LANE_SHIFT + 2)), i32.MIN_VALUE);
  }
  let keys = keys0;
  for (let row: usize = 0; row < <usize>rows; row += LANES) {
    for (let b = bits0; b < bitsEnd; b += LANES << 2) {
      v128.store(b, ones);
      v128.store(b, ones, 16);
    }
    for (let l = lists0; l < listsEnd; l += 12) {
      const k = keys + <usize>load<u32>(l);
      const k0 = v128.load(k);
      const k1 = v128.load(k, 16);
      const end = <usize>load<u32>(l, 8);
      for (let e = <usize>load<u32>(l, 4); e < end; e += 12) {
        const thr = v128.load32_splat(e);
        const c0 = i32x4.gt_s(k0, thr);
        const c1 = i32x4.gt_s(k1, thr);
        if (!v128.any_true(v128.or(c0, c1))) break;
        const kill = v128.load32_splat(e, 4);
        const b = bits0 + <usize>load<u32>(e, 8);
        v128.store(b, v128.andnot(v128.load(b), v128.and(c0, kill)));
        v128.store(b, v128.andnot(v128.load(b, 16), v128.and(c1, kill)), 16);
      }
    }
    let s0 = baseScore, s1 = baseScore, s2 = baseScore, s3 = baseScore;
    let s4 = baseScore, s5 = baseScore, s6 = baseScore, s7 = baseScore;
    let lv = leaves0;
    for (let b = bits0; b < bitsEnd; b += LANES << 2) {
      s0 += load<f32>(lv + ((ctz(load<u32>(b)) & 31) << 2));
      s1 += load<f32>(lv + ((ctz(load<u32>(b, 4)) & 31) << 2));
      s2 += load<f32>(lv + ((ctz(load<u32>(b, 8)) & 31) << 2));
      s3 += load<f32>(lv + ((ctz(load<u32>(b, 12)) & 31) << 2));
      s4 += load<f32>(lv + ((ctz(load<u32>(b, 16)) & 31) << 2));
      s5 += load<f32>(lv + ((ctz(load<u32>(b, 20)) & 31) << 2));
      s6 += load<f32>(lv + ((ctz(load<u32>(b, 24)) & 31) << 2));
      s7 += load<f32>(lv + ((ctz(load<u32>(b, 28)) & 31) << 2));
      lv += QS_MAX_LEAVES << 2;
    }
    const o = out0 + (row << 2);
    const left = <usize>rows - row;
    store<f32>(o, s0);
    if (left > 1) store<f32>(o, s1, 4);
    if (left > 2) store<f32>(o, s2, 8);
    if (left > 3) store<f32>(o, s3, 12);
    if (left > 4) store<f32>(o, s4, 16);
    if (left > 5) store<f32>(o, s5, 20);
    if (left > 6) store<f32>(o, s6, 24);
    if (left > 7) store<f32>(o, s7, 28);
    keys += groupBytes;
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
