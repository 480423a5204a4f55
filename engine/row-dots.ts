/**
 * Dot products of a query with the rows of a matrix: the prompt's similarity to every
 * endpoint of a catalog, computed on every request (O(endpoints x dim), the largest
 * per-request cost on large catalogs).
 *
 * `dotRows` is the plain JS loop and the definition of the results. `rowDots` prepares a
 * fixed matrix once (per catalog version) for the WASM SIMD kernel
 * (core-wasm/assembly/dot.ts), whose results are bit-identical to dotRows (same f64
 * additions in the same order, four rows per vector); without the built kernel (no
 * core-wasm/build, or no WASM SIMD) it runs dotRows itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root';

/**
 * out[i] = (sum over j of q[j] * M[row(i) * d + j]) * scale, for i < n, where row(i) is
 * rows[i], or i itself without `rows`. Each sum runs in j order in doubles, exactly as the
 * plain one-row loop did (scale 1 leaves it as is), so the results are bit-identical to
 * it; four rows go side by side only so that four independent additions are in flight
 * instead of one chain (~3x faster for d = 100).
 */
export function dotRows(q: Float32Array, M: Float32Array, rows: readonly number[] | undefined, n: number, d: number, scale: number, out: Float32Array): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = (rows ? rows[i]! : i) * d;
    const o1 = (rows ? rows[i + 1]! : i + 1) * d;
    const o2 = (rows ? rows[i + 2]! : i + 2) * d;
    const o3 = (rows ? rows[i + 3]! : i + 3) * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const x = q[j]!;
      s0 += x * M[o0 + j]!;
      s1 += x * M[o1 + j]!;
      s2 += x * M[o2 + j]!;
      s3 += x * M[o3 + j]!;
    }
    out[i] = s0 * scale;
    out[i + 1] = s1 * scale;
    out[i + 2] = s2 * scale;
    out[i + 3] = s3 * scale;
  }
  for (; i < n; i++) {
    let s = 0;
    const o = (rows ? rows[i]! : i) * d;
    for (let j = 0; j < d; j++) s += q[j]! * M[o + j]!;
    out[i] = s * scale;
  }
}

/** A fixed n x d matrix ready for repeated queries. */
export interface RowDots {
  /** out[i] = dotRows(q, M, undefined, n, d, scale, out)[i] for i < n. */
  dot(q: Float32Array, scale: number, out: Float32Array): void;
  /** 'wasm-simd' or 'js'. */
  readonly kind: string;
}

// Typed locally: lib "dom" is not part of this project's tsconfig (as in core-wasm/loader.ts).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (desc: { initial: number; maximum?: number }) => { buffer: ArrayBuffer };
}
interface DotExports {
  dotBlocks(mat: number, blocks: number, d: number, q: number, scale: number, out: number): void;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const DOT_WASM_PATH = path.join(packageRoot(), 'core-wasm', 'build', 'dot.wasm');

let compiled: object | null | undefined;
/** The kernel, compiled once per thread (a few hundred bytes: synchronous); null when unavailable. */
function kernel(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new wasmApi!.Module(fs.readFileSync(DOT_WASM_PATH));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Rows per block of the interleaved layout, and blocks per kernel step (see dot.ts). */
const LANES = 4;
const PAGE = 65536;

/** Prepares `M` (row-major n x d, kept by the caller) for `dot`; `useWasm: false` forces the JS loop. */
export function rowDots(M: Float32Array, n: number, d: number, useWasm = true): RowDots {
  const mod = useWasm && n > 0 && d > 0 ? kernel() : null;
  if (!mod) return { kind: 'js', dot: (q, scale, out) => dotRows(q, M, undefined, n, d, scale, out) };
  const blocks = Math.ceil(n / LANES);
  // Memory: the interleaved matrix (padding rows stay 0), then q, then out; all 16-byte aligned.
  const matBytes = blocks * LANES * d * 4;
  const qPtr = matBytes;
  const outPtr = qPtr + Math.ceil((d * 4) / 16) * 16;
  const memory = new wasmApi!.Memory({ initial: Math.ceil((outPtr + blocks * LANES * 4) / PAGE) });
  const ex = new wasmApi!.Instance(mod, { env: { memory } }).exports as DotExports;
  // The memory never grows, so these views stay valid.
  const mat = new Float32Array(memory.buffer, 0, blocks * LANES * d);
  for (let i = 0; i < n; i++) {
    const base = Math.floor(i / LANES) * LANES * d + (i % LANES);
    for (let j = 0; j < d; j++) mat[base + j * LANES] = M[i * d + j]!;
  }
  const qView = new Float32Array(memory.buffer, qPtr, d);
  const outView = new Float32Array(memory.buffer, outPtr, n);
  return {
    kind: 'wasm-simd',
    dot(q, scale, out) {
      qView.set(q.subarray(0, d));
      ex.dotBlocks(0, blocks, d, qPtr, scale, outPtr);
      out.set(outView);
    },
  };
}
