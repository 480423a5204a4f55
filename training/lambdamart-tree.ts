/**
 * Histogram-based regression tree learner, grown leaf-wise (best gain first), as in
 * LightGBM. One learner is created per training run and reused for every tree, so the
 * per-tree work allocates only the tree itself.
 *
 * Rows of the tree being grown live in one index buffer; each leaf owns a contiguous
 * range of it and a split partitions that range in place:
 *
 *   idx: [ leaf 0 rows | leaf 3 rows | leaf 1 rows | leaf 2 rows ... ]
 *          start..end    start..end
 *
 * Each leaf also owns a gradient/hessian/count histogram (one slot per bin of every
 * feature). When a leaf splits, only the smaller child's histogram is built from rows;
 * the larger child's is the parent's minus the smaller one (the subtraction trick), which
 * roughly halves histogram work.
 */
import type { BinnedData } from './lambdamart-binning';

/** A tree as grown: split on bins, nodes and leaves numbered like the model file. */
export interface GrownTree {
  numInternal: number;
  numLeaves: number;
  splitFeature: Int32Array;
  /** Rows whose bin is <= splitBin go left (the missing bin follows defaultLeft). */
  splitBin: Int32Array;
  defaultLeft: Uint8Array;
  /** >= 0: internal node; < 0: leaf ~child. */
  leftChild: Int32Array;
  rightChild: Int32Array;
  /** Float32 leaf values, learning rate already applied. */
  leafValue: Float32Array;
}

export interface TreeParams {
  numLeaves: number;
  /** -1 for unlimited. */
  maxDepth: number;
  minDataInLeaf: number;
  minSumHessian: number;
  lambdaL2: number;
  minGainToSplit: number;
  learningRate: number;
}

const SLOT = 3; // gradient, hessian, count

export class TreeLearner {
  private readonly d: BinnedData;
  private readonly p: TreeParams;
  private readonly idx: Uint32Array;
  private readonly tmp: Uint32Array;
  private readonly gOrd: Float64Array;
  private readonly hOrd: Float64Array;
  private readonly hists: Float64Array[] = [];
  private used: Uint8Array;
  private grad: Float64Array = new Float64Array(0);
  private hess: Float64Array = new Float64Array(0);
  // Per-leaf state, indexed by leaf id.
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly hist: Int32Array;
  private readonly sumG: Float64Array;
  private readonly sumH: Float64Array;
  private readonly depth: Int32Array;
  private readonly parent: Int32Array;
  private readonly isLeft: Uint8Array;
  // Best split found for each leaf (gain -Infinity when it cannot split).
  private readonly bestGain: Float64Array;
  private readonly bestFeature: Int32Array;
  private readonly bestBin: Int32Array;
  private readonly bestDefaultLeft: Uint8Array;
  private readonly bestLG: Float64Array;
  private readonly bestLH: Float64Array;

  /** @param maxRows the most rows any tree is grown on (the training rows). */
  constructor(binned: BinnedData, params: TreeParams, maxRows: number) {
    this.d = binned;
    this.p = params;
    this.idx = new Uint32Array(maxRows);
    this.tmp = new Uint32Array(maxRows);
    this.gOrd = new Float64Array(maxRows);
    this.hOrd = new Float64Array(maxRows);
    this.used = new Uint8Array(binned.numFeatures).fill(1);
    const L = params.numLeaves;
    this.start = new Int32Array(L);
    this.end = new Int32Array(L);
    this.hist = new Int32Array(L);
    this.sumG = new Float64Array(L);
    this.sumH = new Float64Array(L);
    this.depth = new Int32Array(L);
    this.parent = new Int32Array(L);
    this.isLeft = new Uint8Array(L);
    this.bestGain = new Float64Array(L);
    this.bestFeature = new Int32Array(L);
    this.bestBin = new Int32Array(L);
    this.bestDefaultLeft = new Uint8Array(L);
    this.bestLG = new Float64Array(L);
    this.bestLH = new Float64Array(L);
  }

  /**
   * Grows one tree on `rows` (global row ids) fitting the Newton step of `grad`/`hess`.
   * `featureUsed[f]` = 0 hides feature f from this tree.
   */
  grow(grad: Float64Array, hess: Float64Array, rows: Uint32Array, featureUsed: Uint8Array): GrownTree {
    const L = this.p.numLeaves;
    this.grad = grad;
    this.hess = hess;
    this.used = featureUsed;
    this.idx.set(rows);
    const tree: GrownTree = {
      numInternal: 0,
      numLeaves: 1,
      splitFeature: new Int32Array(L - 1),
      splitBin: new Int32Array(L - 1),
      defaultLeft: new Uint8Array(L - 1),
      leftChild: new Int32Array(L - 1),
      rightChild: new Int32Array(L - 1),
      leafValue: new Float32Array(L),
    };
    this.start[0] = 0;
    this.end[0] = rows.length;
    this.hist[0] = 0;
    this.depth[0] = 0;
    this.parent[0] = -1;
    let g = 0;
    let h = 0;
    for (let i = 0; i < rows.length; i++) {
      g += grad[rows[i]];
      h += hess[rows[i]];
    }
    this.sumG[0] = g;
    this.sumH[0] = h;
    this.buildHistogram(0, this.buffer(0));
    this.findBestSplit(0);
    while (tree.numLeaves < L) {
      let leaf = -1;
      let gain = this.p.minGainToSplit;
      for (let l = 0; l < tree.numLeaves; l++) {
        if (this.bestGain[l] > gain) {
          gain = this.bestGain[l];
          leaf = l;
        }
      }
      if (leaf < 0) break;
      this.split(tree, leaf);
    }
    for (let l = 0; l < tree.numLeaves; l++) {
      const denom = this.sumH[l] + this.p.lambdaL2;
      tree.leafValue[l] = denom > 0 ? Math.fround((-this.sumG[l] / denom) * this.p.learningRate) : 0;
    }
    return shrink(tree);
  }

  /** Adds each leaf's value to the scores of the rows the last tree was grown on. */
  addToGrownRows(tree: GrownTree, scores: Float32Array): void {
    for (let l = 0; l < tree.numLeaves; l++) {
      const v = tree.leafValue[l];
      for (let i = this.start[l]; i < this.end[l]; i++) scores[this.idx[i]] += v;
    }
  }

  private buffer(i: number): Float64Array {
    // Allocated on first use: most runs never reach num_leaves buffers.
    while (this.hists.length <= i) this.hists.push(new Float64Array(this.d.totalSlots * SLOT));
    return this.hists[i];
  }

  private buildHistogram(leaf: number, buf: Float64Array): void {
    const { bins, rows, numFeatures, slotOffset } = this.d;
    const idx = this.idx;
    const s = this.start[leaf];
    const n = this.end[leaf] - s;
    const gOrd = this.gOrd;
    const hOrd = this.hOrd;
    // Gather the leaf's gradients once so the per-feature loops read them sequentially.
    for (let i = 0; i < n; i++) {
      const r = idx[s + i];
      gOrd[i] = this.grad[r];
      hOrd[i] = this.hess[r];
    }
    buf.fill(0);
    for (let f = 0; f < numFeatures; f++) {
      if (this.used[f] === 0) continue;
      const col = f * rows;
      const base = slotOffset[f] * SLOT;
      for (let i = 0; i < n; i++) {
        const p = base + bins[col + idx[s + i]] * SLOT;
        buf[p] += gOrd[i];
        buf[p + 1] += hOrd[i];
        buf[p + 2] += 1;
      }
    }
  }

  private findBestSplit(leaf: number): void {
    const p = this.p;
    const { numFeatures, numBins, slotOffset } = this.d;
    const buf = this.hists[this.hist[leaf]];
    const C = this.end[leaf] - this.start[leaf];
    const G = this.sumG[leaf];
    const H = this.sumH[leaf];
    const lambda = p.lambdaL2;
    const minData = p.minDataInLeaf;
    const minHess = p.minSumHessian;
    this.bestGain[leaf] = -Infinity;
    if (C < 2 * minData || (p.maxDepth > 0 && this.depth[leaf] >= p.maxDepth)) return;
    const parentScore = H + lambda > 0 ? (G * G) / (H + lambda) : 0;
    let best = -Infinity;
    let bf = -1;
    let bb = -1;
    let bdl = 0;
    let blg = 0;
    let blh = 0;
    // Scores one candidate partition (left sums lg/lh/lc); closes over the leaf totals.
    const consider = (f: number, j: number, lg: number, lh: number, lc: number, dl: number): void => {
      const rc = C - lc;
      if (lc < minData || rc < minData) return;
      const rh = H - lh;
      if (lh < minHess || rh < minHess || lh + lambda <= 0 || rh + lambda <= 0) return;
      const rg = G - lg;
      const gain = (lg * lg) / (lh + lambda) + (rg * rg) / (rh + lambda) - parentScore;
      if (gain > best) {
        best = gain;
        bf = f;
        bb = j;
        bdl = dl;
        blg = lg;
        blh = lh;
      }
    };
    for (let f = 0; f < numFeatures; f++) {
      if (this.used[f] === 0) continue;
      const nb = numBins[f];
      const base = slotOffset[f] * SLOT;
      const m = base + nb * SLOT;
      const mG = buf[m];
      const mH = buf[m + 1];
      const mC = buf[m + 2];
      let lg = 0;
      let lh = 0;
      let lc = 0;
      for (let j = 0; j < nb - 1; j++) {
        const q = base + j * SLOT;
        if (buf[q + 2] === 0) continue; // same partition as the previous boundary
        lg += buf[q];
        lh += buf[q + 1];
        lc += buf[q + 2];
        if (C - lc < minData) break; // every later boundary leaves too few rows on the right
        if (mC > 0) {
          consider(f, j, lg, lh, lc, 0);
          consider(f, j, lg + mG, lh + mH, lc + mC, 1);
        } else {
          // No missing rows here: unseen NaNs follow the side with more rows.
          consider(f, j, lg, lh, lc, lc * 2 >= C ? 1 : 0);
        }
      }
      if (mC > 0) {
        // Present values left, missing right: missingness itself as the split.
        consider(f, nb - 1, G - mG, H - mH, C - mC, 0);
      }
    }
    if (bf < 0) return;
    this.bestGain[leaf] = best;
    this.bestFeature[leaf] = bf;
    this.bestBin[leaf] = bb;
    this.bestDefaultLeft[leaf] = bdl;
    this.bestLG[leaf] = blg;
    this.bestLH[leaf] = blh;
  }

  private split(tree: GrownTree, leaf: number): void {
    const { bins, rows, numBins } = this.d;
    const f = this.bestFeature[leaf];
    const j = this.bestBin[leaf];
    const dl = this.bestDefaultLeft[leaf];
    const missing = numBins[f];
    const col = f * rows;
    const idx = this.idx;
    const tmp = this.tmp;
    const s = this.start[leaf];
    const e = this.end[leaf];
    // Stable partition: left rows compacted in place, right rows via tmp.
    let wl = s;
    let wr = 0;
    for (let i = s; i < e; i++) {
      const r = idx[i];
      const b = bins[col + r];
      if (b === missing ? dl === 1 : b <= j) idx[wl++] = r;
      else tmp[wr++] = r;
    }
    idx.set(tmp.subarray(0, wr), wl);

    const node = tree.numInternal++;
    const right = tree.numLeaves++;
    tree.splitFeature[node] = f;
    tree.splitBin[node] = j;
    tree.defaultLeft[node] = dl;
    tree.leftChild[node] = ~leaf;
    tree.rightChild[node] = ~right;
    const up = this.parent[leaf];
    if (up >= 0) {
      if (this.isLeft[leaf] === 1) tree.leftChild[up] = node;
      else tree.rightChild[up] = node;
    }
    this.parent[leaf] = node;
    this.isLeft[leaf] = 1;
    this.parent[right] = node;
    this.isLeft[right] = 0;
    this.start[right] = wl;
    this.end[right] = e;
    this.end[leaf] = wl;
    const G = this.sumG[leaf];
    const H = this.sumH[leaf];
    this.sumG[leaf] = this.bestLG[leaf];
    this.sumH[leaf] = this.bestLH[leaf];
    this.sumG[right] = G - this.sumG[leaf];
    this.sumH[right] = H - this.sumH[leaf];
    this.depth[right] = ++this.depth[leaf];

    // Leaves in use hold buffers {0..numLeaves-2}, so buffer `right` is free.
    const parentBuf = this.hist[leaf];
    const leftSmaller = wl - s <= e - wl;
    const small = leftSmaller ? leaf : right;
    const large = leftSmaller ? right : leaf;
    this.hist[small] = right;
    this.hist[large] = parentBuf;
    const sb = this.buffer(right);
    this.buildHistogram(small, sb);
    this.subtract(this.hists[parentBuf], sb);
    this.findBestSplit(leaf);
    this.findBestSplit(right);
  }

  /** into -= from, over the features this tree uses. */
  private subtract(into: Float64Array, from: Float64Array): void {
    const { numFeatures, numBins, slotOffset } = this.d;
    for (let f = 0; f < numFeatures; f++) {
      if (this.used[f] === 0) continue;
      const a = slotOffset[f] * SLOT;
      const b = a + (numBins[f] + 1) * SLOT;
      for (let i = a; i < b; i++) into[i] -= from[i];
    }
  }
}

/** Trims the node and leaf arrays to the size actually grown. */
function shrink(t: GrownTree): GrownTree {
  return {
    numInternal: t.numInternal,
    numLeaves: t.numLeaves,
    splitFeature: t.splitFeature.slice(0, t.numInternal),
    splitBin: t.splitBin.slice(0, t.numInternal),
    defaultLeft: t.defaultLeft.slice(0, t.numInternal),
    leftChild: t.leftChild.slice(0, t.numInternal),
    rightChild: t.rightChild.slice(0, t.numInternal),
    leafValue: t.leafValue.slice(0, t.numLeaves),
  };
}

/** Leaf value of binned row `r` (column-major bins with `rows` rows). */
export function walkBinned(tree: GrownTree, d: BinnedData, r: number): number {
  if (tree.numInternal === 0) return tree.leafValue[0];
  const { bins, rows, numBins } = d;
  let node = 0;
  for (;;) {
    const f = tree.splitFeature[node];
    const b = bins[f * rows + r];
    const left = b === numBins[f] ? tree.defaultLeft[node] === 1 : b <= tree.splitBin[node];
    const next = left ? tree.leftChild[node] : tree.rightChild[node];
    if (next < 0) return tree.leafValue[~next];
    node = next;
  }
}
