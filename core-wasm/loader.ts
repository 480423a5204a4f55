/**
 * Typed loader of the WASM tree-ensemble evaluator (core-wasm/assembly/index.ts).
 *
 *   main thread:  const mod = await compileRankerWasm()      // once
 *   each worker:  const ev = new WasmEvaluator(mod)          // sync instantiate
 *                 ev.setModel(parseRankerModel(json, FEATURE_NAMES))
 *                 ev.score(features, rows, stride)            // hot path
 *
 * A compiled module can be posted to worker threads (structured clone), so workers do
 * not compile again.
 *
 * Hazard: wasm memory may grow inside allocModel/ensureBatch, which detaches every
 * ArrayBuffer view taken before. All views here are re-derived when memory.buffer has
 * changed (see `mem()`), and borrowed views handed out are valid only until the next
 * call on the same evaluator.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkBatchArgs, checkRowsStride, outputFor } from './batch-args';
import type { RankerModel } from './model';
import { packageRoot } from '../engine/package-root';

// lib "dom" is not part of this project's tsconfig, so the handful of WebAssembly APIs
// used here are typed locally instead of through a global declaration that could clash.

/** A compiled WebAssembly.Module of the ranker evaluator. */
export type CompiledRankerModule = object;

interface WasmApi {
  Module: new (bytes: Uint8Array) => CompiledRankerModule;
  Instance: new (module: CompiledRankerModule, imports: object) => { exports: unknown };
  compile(bytes: Uint8Array): Promise<CompiledRankerModule>;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of core-wasm/assembly/index.ts (pointers are u32 byte offsets). */
interface RankerExports {
  memory: { buffer: ArrayBuffer };
  allocModel(trees: number, totalNodes: number, totalLeaves: number, features: number, base: number): void;
  nodeFeaturePtr(): number;
  nodeThresholdPtr(): number;
  nodeDefaultLeftPtr(): number;
  nodeLeftPtr(): number;
  nodeRightPtr(): number;
  leafValuePtr(): number;
  treeNodeOffsetPtr(): number;
  treeLeafOffsetPtr(): number;
  finishModel(): number;
  modelFeatures(): number;
  scoringMethod(): number;
  allowQuickScorer(allow: number): void;
  ensureBatch(maxRows: number, stride: number): number;
  inputPtr(): number;
  outputPtr(): number;
  scoreBatch(rows: number, stride: number): void;
  bench(n: number, rows: number, stride: number): number;
}

export type ScoringMethod = 'none' | 'tree-walk' | 'quickscorer';
const SCORING_METHODS: readonly ScoringMethod[] = ['none', 'tree-walk', 'quickscorer'];

export interface WasmLoadOptions {
  /** Load the debug build (assertions on, source map) instead of the release build. */
  debug?: boolean;
  /** Explicit .wasm path; overrides `debug`. */
  wasmPath?: string;
}

/** Path of the built evaluator (`npm run build:wasm` writes core-wasm/build/). */
export function resolveWasmPath(opts: WasmLoadOptions = {}): string {
  if (opts.wasmPath !== undefined) return path.resolve(opts.wasmPath);
  const file = opts.debug === true ? 'ranker.debug.wasm' : 'ranker.release.wasm';
  return path.join(packageRoot(), 'core-wasm', 'build', file);
}

/** Reads and compiles the evaluator; compile once, instantiate per worker. */
export async function compileRankerWasm(opts: WasmLoadOptions = {}): Promise<CompiledRankerModule> {
  const file = resolveWasmPath(opts);
  const bytes = await readFile(file).catch((err: Error) => {
    throw new Error(`cannot read ${file} (run \`npm run build:wasm\`): ${err.message}`, { cause: err });
  });
  return wasmApi.compile(bytes);
}

/** Compiles and instantiates the evaluator. */
export async function loadWasmEvaluator(opts: WasmLoadOptions = {}): Promise<WasmEvaluator> {
  return new WasmEvaluator(await compileRankerWasm(opts));
}

/**
 * Reads, compiles and instantiates synchronously (for worker start-up when no compiled
 * module was handed over). Throws when the file is missing.
 */
export function loadWasmEvaluatorSync(opts: WasmLoadOptions = {}): WasmEvaluator {
  const file = resolveWasmPath(opts);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file} (run \`npm run build:wasm\`): ${(err as Error).message}`, { cause: err });
  }
  return new WasmEvaluator(bytes);
}

/** Reads an AssemblyScript string (UTF-16, byte length in the header word before it). */
function readAsString(buffer: ArrayBuffer, ptr: number): string {
  if (ptr === 0 || ptr < 4 || ptr > buffer.byteLength) return '';
  const bytes = new DataView(buffer).getUint32(ptr - 4, true);
  const units = new Uint16Array(buffer, ptr, Math.min(bytes >>> 1, (buffer.byteLength - ptr) >>> 1));
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.subarray(i, i + 4096));
  return s;
}

export class WasmEvaluator {
  private readonly ex: RankerExports;
  private buffer: ArrayBuffer | undefined;
  private f32: Float32Array = new Float32Array(0);
  private model: RankerModel | undefined;
  // Batch capacity already requested from wasm, so the hot path skips ensureBatch.
  private inputCapacity = 0;
  private outputCapacity = 0;

  /**
   * Instantiates synchronously: from a compiled module (preferred; see
   * compileRankerWasm) or from the .wasm bytes (compiled here, synchronously).
   */
  constructor(source: CompiledRankerModule | Uint8Array) {
    const module = source instanceof Uint8Array ? new wasmApi.Module(source) : source;
    let exportsRef: RankerExports | undefined;
    const abort = (msg: number, file: number, line: number, col: number): never => {
      const buf = exportsRef === undefined ? new ArrayBuffer(0) : exportsRef.memory.buffer;
      throw new Error(`ranker wasm abort: ${readAsString(buf, msg)} (${readAsString(buf, file)}:${line}:${col})`);
    };
    const instance = new wasmApi.Instance(module, { env: { abort } });
    this.ex = instance.exports as RankerExports;
    exportsRef = this.ex;
  }

  /** Features per row of the loaded model; 0 before setModel. */
  get numFeatures(): number {
    return this.model === undefined ? 0 : this.model.numFeatures;
  }

  /** The loaded model (undefined before setModel). */
  get currentModel(): RankerModel | undefined {
    return this.model;
  }

  /** Current size of the instance's linear memory in bytes. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /**
   * How the loaded model is scored: 'quickscorer' when every tree has at most 32 leaves
   * (core-wasm/assembly/index.ts), else 'tree-walk'; 'none' before setModel.
   */
  get method(): ScoringMethod {
    return SCORING_METHODS[this.ex.scoringMethod()] ?? 'none';
  }

  /**
   * allow = false makes models set from now on use the tree walk even where QuickScorer
   * could run: for comparing the two on one model. Both are bit-identical.
   */
  allowQuickScorer(allow: boolean): void {
    this.ex.allowQuickScorer(allow ? 1 : 0);
  }

  /** Float32 view of the whole memory, re-created when memory has grown. */
  private mem(): Float32Array {
    const buf = this.ex.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.f32 = new Float32Array(buf);
    }
    return this.f32;
  }

  /**
   * Copies a validated model into wasm memory, replacing (and freeing) the previous one.
   * If this throws, no model is loaded; to swap models atomically, load the new one into
   * a second evaluator and switch over.
   */
  setModel(model: RankerModel): void {
    const f = model.flat;
    const ex = this.ex;
    this.model = undefined;
    ex.allocModel(f.numTrees, f.totalNodes, f.totalLeaves, model.numFeatures, model.baseScore);
    // allocModel may have grown memory: take views only now.
    const buf = ex.memory.buffer;
    new Int32Array(buf, ex.nodeFeaturePtr() >>> 0, f.totalNodes).set(f.splitFeature);
    new Float32Array(buf, ex.nodeThresholdPtr() >>> 0, f.totalNodes).set(f.threshold);
    new Uint8Array(buf, ex.nodeDefaultLeftPtr() >>> 0, f.totalNodes).set(f.defaultLeft);
    new Int32Array(buf, ex.nodeLeftPtr() >>> 0, f.totalNodes).set(f.leftChild);
    new Int32Array(buf, ex.nodeRightPtr() >>> 0, f.totalNodes).set(f.rightChild);
    new Float32Array(buf, ex.leafValuePtr() >>> 0, f.totalLeaves).set(f.leafValue);
    new Int32Array(buf, ex.treeNodeOffsetPtr() >>> 0, f.numTrees + 1).set(f.treeNodeOffset);
    new Int32Array(buf, ex.treeLeafOffsetPtr() >>> 0, f.numTrees + 1).set(f.treeLeafOffset);
    const rc = ex.finishModel();
    if (rc !== 0) {
      // Only reachable with a RankerModel that did not come from parseRankerModel.
      const what = rc < 0 ? 'tree offsets' : `node ${rc - 1}`;
      throw new Error(`ranker wasm refused the model: bad ${what} (was it built by parseRankerModel?)`);
    }
    this.model = model;
  }

  private requireModel(): RankerModel {
    if (this.model === undefined) throw new Error('ranker wasm: no model loaded (call setModel first)');
    return this.model;
  }

  /**
   * Borrowed view of the wasm input buffer for `rows` x `stride` features, for callers
   * that build features in place instead of copying them in. Valid until the next call
   * on this evaluator; fill it, then call scoreInput(rows, stride).
   */
  inputView(rows: number, stride: number): Float32Array {
    checkRowsStride(rows, stride, this.requireModel().numFeatures);
    const need = rows * stride;
    if (need > this.inputCapacity || rows > this.outputCapacity) {
      // wasm buffers only grow, so capacities only grow too.
      const maxRows = Math.max(rows, this.outputCapacity);
      this.ex.ensureBatch(maxRows, stride);
      this.outputCapacity = maxRows;
      this.inputCapacity = Math.max(this.inputCapacity, maxRows * stride);
    }
    const ptr = this.ex.inputPtr() >>> 0;
    return this.mem().subarray(ptr >>> 2, (ptr >>> 2) + need);
  }

  /** Scores what the last inputView was filled with. */
  scoreInput(rows: number, stride: number, out?: Float32Array): Float32Array {
    checkRowsStride(rows, stride, this.requireModel().numFeatures);
    const result = outputFor(rows, out);
    if (rows === 0) return result;
    if (rows * stride > this.inputCapacity || rows > this.outputCapacity) {
      throw new RangeError(`scoreInput(${rows}, ${stride}) exceeds the buffer from inputView; call inputView first`);
    }
    this.ex.scoreBatch(rows, stride);
    const ptr = this.ex.outputPtr() >>> 2;
    result.set(this.mem().subarray(ptr, ptr + rows));
    return result;
  }

  /**
   * Scores `rows` rows of `stride` float32 features (row-major, stride >= numFeatures;
   * values past numFeatures are ignored). Writes into `out` when given (length >= rows)
   * and returns the scores, one per row. Bit-identical to ReferenceEvaluator.score.
   */
  score(features: Float32Array, rows: number, stride: number, out?: Float32Array): Float32Array {
    const model = this.requireModel();
    const result = checkBatchArgs(features, rows, stride, model.numFeatures, out);
    if (rows === 0) return result;
    const n = rows * stride;
    this.inputView(rows, stride).set(n === features.length ? features : features.subarray(0, n));
    this.ex.scoreBatch(rows, stride);
    const ptr = this.ex.outputPtr() >>> 2;
    result.set(this.mem().subarray(ptr, ptr + rows));
    return result;
  }

  /**
   * Microbenchmark hook: scores the batch already in the input buffer `n` times inside
   * wasm (no JS crossing per batch). Returns a checksum so the work cannot be elided.
   */
  benchInput(n: number, rows: number, stride: number): number {
    this.requireModel();
    if (rows * stride > this.inputCapacity || rows > this.outputCapacity) {
      throw new RangeError('benchInput: call inputView(rows, stride) first');
    }
    return this.ex.bench(n, rows, stride);
  }
}
