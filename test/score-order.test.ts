/**
 * orderByScoreDesc (engine/predictor.ts) must give exactly the order of the comparator
 * sort it replaced: higher score first, ties (and +0 / -0) by lower index, NaN handled
 * as the comparator sort handles it; topByScoreDesc exactly its first k entries.
 */
import t from 'tap';
import fc from 'fast-check';
import { compareScoreDesc, orderByScoreDesc, topByScoreDesc } from '../engine/predictor';

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

t.test('topByScoreDesc is the first k of the full order', (t) => {
  // Few distinct values (many ties), signed zeros, infinities, NaN now and then.
  const value = fc.oneof(fc.float(), fc.constantFrom(0, -0, 1, 0.5, -1, Infinity, -Infinity));
  fc.assert(
    fc.property(fc.array(value, { maxLength: 300 }), fc.nat(320), (xs, k) => {
      const scores = Float32Array.from(xs);
      t.same(topByScoreDesc(scores, k), reference(scores).slice(0, k));
    }),
    { numRuns: 500 },
  );
  t.end();
});

t.test('topByScoreDesc on ascending scores (every entry displaces the kept ones)', (t) => {
  const scores = Float32Array.from({ length: 1000 }, (_, i) => i / 1000);
  t.same(topByScoreDesc(scores, 64), reference(scores).slice(0, 64));
  t.same(topByScoreDesc(scores.reverse(), 64), Array.from({ length: 64 }, (_, i) => i));
  t.end();
});
