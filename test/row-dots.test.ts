/**
 * The WASM SIMD similarity kernel (engine/row-dots.ts, core-wasm/assembly/dot.ts) must
 * give bit-for-bit the results of the JS loop it stands in for, for every row count
 * (whole and partial blocks), width and scale.
 */
import t from 'tap';
import fc from 'fast-check';
import { dotRows, rowDots } from '../engine/row-dots';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

t.test('the built kernel is used', (t) => {
  t.equal(rowDots(new Float32Array(8), 2, 4).kind, 'wasm-simd', 'run "npm run build:wasm" first');
  t.equal(rowDots(new Float32Array(8), 2, 4, false).kind, 'js');
  t.end();
});

t.test('bit-identical to dotRows', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 40 }), fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 100, noNaN: true })), fc.integer(), (n, d, scale, seed) => {
      // A cheap deterministic fill: fast-check arrays of n*d floats would be slow to shrink.
      let s = seed >>> 0;
      const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
      const M = Float32Array.from({ length: n * d }, rnd);
      const q = Float32Array.from({ length: d }, rnd);
      const want = new Float32Array(n);
      dotRows(q, M, undefined, n, d, scale, want);
      const got = new Float32Array(n);
      rowDots(M, n, d).dot(q, scale, got);
      t.same(bits(got), bits(want));
    }),
    { numRuns: 300 },
  );
  t.end();
});

t.test('repeated queries on one matrix, and extreme values', (t) => {
  const n = 37;
  const d = 100;
  const M = Float32Array.from({ length: n * d }, (_, i) => (i % 7 === 0 ? 3.4e38 : i % 11 === 0 ? -1e-45 : Math.sin(i)));
  const dots = rowDots(M, n, d);
  for (let k = 0; k < 5; k++) {
    const q = Float32Array.from({ length: d }, (_, j) => Math.cos(j * (k + 1)));
    const want = new Float32Array(n);
    dotRows(q, M, undefined, n, d, 0.5, want);
    const got = new Float32Array(n);
    dots.dot(q, 0.5, got);
    t.same(bits(got), bits(want), `query ${k}`);
  }
  t.end();
});
