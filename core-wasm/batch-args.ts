/**
 * Argument checks shared by both evaluators, so the WASM and TS paths refuse the same
 * bad calls with the same messages. These are caller bugs (faults), hence RangeError.
 */

/** rows is a non-negative integer, stride an integer >= numFeatures. */
export function checkRowsStride(rows: number, stride: number, numFeatures: number): void {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(stride) || stride < numFeatures) {
    throw new RangeError(`stride must be an integer >= num_features (${numFeatures}), got ${stride}`);
  }
}

/** The array scores go to: the caller's `out` (length >= rows) cut to `rows`, else a new one. */
export function outputFor(rows: number, out: Float32Array | undefined): Float32Array {
  if (out === undefined) return new Float32Array(rows);
  if (out.length < rows) throw new RangeError(`out holds ${out.length} values, ${rows} rows need ${rows}`);
  return out.length === rows ? out : out.subarray(0, rows);
}

/** Checks a rows x stride batch held in `features`; returns the output array to write. */
export function checkBatchArgs(
  features: Float32Array,
  rows: number,
  stride: number,
  numFeatures: number,
  out: Float32Array | undefined,
): Float32Array {
  checkRowsStride(rows, stride, numFeatures);
  if (features.length < rows * stride) {
    throw new RangeError(`features holds ${features.length} values, ${rows} rows x stride ${stride} need ${rows * stride}`);
  }
  return outputFor(rows, out);
}
