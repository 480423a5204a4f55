// Dot products of one query with every row of a matrix (engine/row-dots.ts): the
// similarity of a prompt to every endpoint of a catalog, on every request.
//
// LAYOUT. Rows come in blocks of four, interleaved: block b holds, for j = 0..d-1, the
// four f32 values row(4b..4b+3)[j] (16 bytes), so one v128 load feeds four rows.
//
// EXACTNESS. Each row's sum is the sequence of double additions of the JS dotRows, in
// the same j order: f32 x f32 is exact in f64, every lane adds like a scalar f64 add,
// and the final scale and f32 rounding are the same operations. Results are bit-equal
// to the JS loop; only four rows (two blocks) run side by side to keep adds in flight.
//
//   dotBlocks(mat, blocks, d, q, scale, out): out[i] = f32((sum_j f64(q[j]) * f64(row_i[j])) * scale)
export function dotBlocks(mat: usize, blocks: i32, d: i32, q: usize, scale: f64, out: usize): void {
  const sc = f64x2.splat(scale);
  const stride = <usize>d << 4;
  let b = 0;
  for (; b + 2 <= blocks; b += 2) {
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    let a2 = f64x2.splat(0);
    let a3 = f64x2.splat(0);
    let p = mat + <usize>b * stride;
    for (let j = 0; j < d; j++) {
      const x = f64x2.splat(<f64>load<f32>(q + (<usize>j << 2)));
      const v = v128.load(p + (<usize>j << 4));
      const w = v128.load(p + stride + (<usize>j << 4));
      a0 = f64x2.add(a0, f64x2.mul(x, f64x2.promote_low_f32x4(v)));
      a1 = f64x2.add(a1, f64x2.mul(x, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))));
      a2 = f64x2.add(a2, f64x2.mul(x, f64x2.promote_low_f32x4(w)));
      a3 = f64x2.add(a3, f64x2.mul(x, f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 2, 3, 0, 1))));
    }
    const o = out + (<usize>b << 4);
    v128.store(o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.mul(a0, sc)), f32x4.demote_f64x2_zero(f64x2.mul(a1, sc)), 0, 1, 4, 5));
    v128.store(o + 16, v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.mul(a2, sc)), f32x4.demote_f64x2_zero(f64x2.mul(a3, sc)), 0, 1, 4, 5));
  }
  for (; b < blocks; b++) {
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    let p = mat + <usize>b * stride;
    for (let j = 0; j < d; j++) {
      const x = f64x2.splat(<f64>load<f32>(q + (<usize>j << 2)));
      const v = v128.load(p + (<usize>j << 4));
      a0 = f64x2.add(a0, f64x2.mul(x, f64x2.promote_low_f32x4(v)));
      a1 = f64x2.add(a1, f64x2.mul(x, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))));
    }
    v128.store(out + (<usize>b << 4), v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.mul(a0, sc)), f32x4.demote_f64x2_zero(f64x2.mul(a1, sc)), 0, 1, 4, 5));
  }
}
