/**
 * orderByScoreDesc (engine/predictor.ts) must give exactly the order of the comparator
 * sort it replaced: higher score first, ties (and +0 / -0) by lower index, NaN handled
 * as the comparator sort handles it.
 */
import t from 'tap';
import fc from 'fast-check';
import { compareScoreDesc, orderByScoreDesc } from '../engine/predictor';

function reference(scores: Float32Array): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort(compareScoreDesc(scores));
}

t.test('same order as the comparator sort on arbitrary f32 arrays', (t) => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true }), { maxLength: 300 }), (xs) => {
      const scores = Float32Array.from(xs);
      t.same(Array.from(orderByScoreDesc(scores)), reference(scores));
    }),
    { numRuns: 300 },
  );
  t.end();
});

t.test('ties, signed zeros, infinities and subnormals', (t) => {
  const scores = Float32Array.from([0, -0, 1, 1, -1, Infinity, -Infinity, 1e-45, -1e-45, 0.5, -0, 0, 1, 3.4e38, -3.4e38]);
  t.same(Array.from(orderByScoreDesc(scores)), reference(scores));
  const few = Float32Array.from([0.25, 0.25, 0.25]);
  t.same(Array.from(orderByScoreDesc(few)), [0, 1, 2]);
  t.same(Array.from(orderByScoreDesc(new Float32Array(0))), []);
  t.end();
});

t.test('NaN falls back to the comparator sort itself', (t) => {
  const scores = Float32Array.from([0.5, NaN, 0.7, 0.1, NaN, 0.9]);
  t.same(Array.from(orderByScoreDesc(scores)), reference(scores));
  t.end();
});
