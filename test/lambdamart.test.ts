import t from 'tap';
import { FLT_MAX, binBounds } from '../training/lambdamart-binning';
import { createRng } from '../training/lambdamart-rng';
import { syntheticRanking } from '../training/lambdamart-synthetic';
import {
  DEFAULT_PARAMS,
  ndcgAtK,
  predictRows,
  trainLambdaMart,
  type ModelJson,
  type RankingDataset,
} from '../training/lambdamart';

// Small and quick: every training run below stays well under a second.
const SMALL = { n_estimators: 60, num_leaves: 15, min_data_in_leaf: 10 } as const;

function randomNdcg(data: RankingDataset, k: number, seed: number): number {
  const rng = createRng(seed);
  let sum = 0;
  const runs = 20;
  for (let i = 0; i < runs; i++) {
    const s = Float32Array.from(data.labels, () => rng.next());
    sum += ndcgAtK(s, data.labels, data.groups, k);
  }
  return sum / runs;
}

/** Best NDCG@k any single feature reaches as the whole score (either sign, NaN at either end). */
function bestSingleFeature(data: RankingDataset, k: number): number {
  const F = data.featureNames.length;
  let best = -Infinity;
  for (let f = 0; f < F; f++) {
    for (const sign of [1, -1]) {
      for (const nanAs of [-1e9, 1e9]) {
        const s = Float32Array.from(data.labels, (_, r) => {
          const x = data.features[r * F + f];
          return x !== x ? nanAs : sign * x;
        });
        best = Math.max(best, ndcgAtK(s, data.labels, data.groups, k));
      }
    }
  }
  return best;
}

function score(model: ModelJson, data: RankingDataset): Float32Array {
  return predictRows(model, data.features, data.labels.length, data.featureNames.length);
}

/** Everything docs/ranker-format.md requires of a model file; returns the problems found. */
function formatProblems(m: ModelJson, numLeavesMax: number): string[] {
  const bad: string[] = [];
  const f32 = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && Math.fround(v) === v;
  if (m.format !== 'opensesame-gbdt') bad.push('format');
  if (m.format_version !== 1) bad.push('format_version');
  if (m.objective !== 'lambdarank') bad.push('objective');
  if (m.feature_names.length !== m.num_features) bad.push('feature_names length');
  if (!f32(m.base_score)) bad.push('base_score');
  if (!/^ranker-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/.test(m.model_version)) bad.push('model_version');
  if (new Date(m.created_at).toISOString() !== m.created_at) bad.push('created_at');
  m.trees.forEach((tree, ti) => {
    const n = tree.split_feature.length;
    const at = `tree ${ti}`;
    for (const key of ['threshold', 'default_left', 'left_child', 'right_child'] as const) {
      if (tree[key].length !== n) bad.push(`${at}: ${key} length`);
    }
    if (tree.leaf_value.length !== n + 1) bad.push(`${at}: leaf_value length`);
    if (tree.leaf_value.length > numLeavesMax) bad.push(`${at}: more than ${numLeavesMax} leaves`);
    const nodeSeen = new Array<number>(n).fill(0);
    const leafSeen = new Array<number>(n + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const f = tree.split_feature[i];
      if (!Number.isInteger(f) || f < 0 || f >= m.num_features) bad.push(`${at}: split_feature[${i}]`);
      if (!f32(tree.threshold[i])) bad.push(`${at}: threshold[${i}] not a finite float32`);
      if (typeof tree.default_left[i] !== 'boolean') bad.push(`${at}: default_left[${i}]`);
      for (const c of [tree.left_child[i], tree.right_child[i]]) {
        if (!Number.isInteger(c)) bad.push(`${at}: child of ${i}`);
        else if (c >= 0) {
          if (c >= n || c === 0) bad.push(`${at}: child ${c} of ${i} out of range`);
          else nodeSeen[c]++;
        } else if (~c > n) bad.push(`${at}: leaf child ${c} of ${i} out of range`);
        else leafSeen[~c]++;
      }
    }
    for (let i = 1; i < n; i++) if (nodeSeen[i] !== 1) bad.push(`${at}: node ${i} referenced ${nodeSeen[i]} times`);
    if (n > 0) leafSeen.forEach((c, l) => c !== 1 && bad.push(`${at}: leaf ${l} referenced ${c} times`));
    tree.leaf_value.forEach((v, l) => !f32(v) && bad.push(`${at}: leaf_value[${l}]`));
  });
  return bad;
}

t.test('ndcgAtK follows its documented conventions', async (t) => {
  const labels = Float32Array.from([0, 2, 1, 0, 0, 1, 0]);
  const groups = Uint32Array.from([3, 2, 2]);
  // Group 1 perfectly ordered; group 2 has no relevant item (skipped); group 3 inverted.
  const scores = Float32Array.from([0.1, 0.9, 0.5, 0.3, 0.4, 0.2, 0.8]);
  const inverted = 1 / Math.log2(3);
  t.ok(Math.abs(ndcgAtK(scores, labels, groups, 3) - (1 + inverted) / 2) < 1e-12);
  // Ties rank the lower label first, so a constant scorer gets no credit for row order.
  const tied = Float32Array.from([1, 1, 1, 1, 1, 1, 1]);
  const worst = ndcgAtK(tied, labels, groups, 3);
  const ideal = 3 / 1 + 1 / Math.log2(3);
  const worstA = (0 + 1 / Math.log2(3) + 3 / 2) / ideal;
  t.ok(Math.abs(worst - (worstA + inverted) / 2) < 1e-12);
  // k truncates: with k = 1 group 1 scores 1 and group 3 scores 0.
  t.equal(ndcgAtK(scores, labels, groups, 1), 0.5);
  t.ok(Number.isNaN(ndcgAtK(Float32Array.from([1, 2]), Float32Array.from([0, 0]), Uint32Array.from([2]), 3)));
  t.throws(() => ndcgAtK(scores, labels, Uint32Array.from([3, 3]), 3), RangeError);
});

t.test('bin bounds are strictly increasing float32 values that separate the data', async (t) => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.fround(Math.sin(i) * 100)).sort();
  const b = binBounds(values, 16);
  t.ok(b.length <= 16 && b.length > 8, `bins ${b.length}`);
  t.equal(b[b.length - 1], FLT_MAX);
  for (let i = 1; i < b.length; i++) t.ok(b[i] > b[i - 1], `bound ${i} increases`);
  // Neighbouring float32 values: the midpoint rounds onto one of them; the bound must be the lower.
  const one = 1;
  const next = Math.fround(1 + 2 ** -23);
  const tight = binBounds(Float32Array.from([one, next, next]), 8);
  t.same(Array.from(tight), [one, FLT_MAX]);
  t.ok(one <= tight[0] && !(next <= tight[0]));
  t.same(Array.from(binBounds(new Float32Array(0), 8)), [FLT_MAX], 'no present values: one bin');
});

t.test('learns a planted signal far better than random and than any single feature', async (t) => {
  const data = syntheticRanking({ groups: 600, numFeatures: 8, seed: 3 });
  const heldOut = syntheticRanking({ groups: 400, numFeatures: 8, seed: 4 });
  const progress: number[] = [];
  const res = trainLambdaMart(data, { ...SMALL, validation_fraction: 0.2 }, { onProgress: (i) => progress.push(i) });
  const model = score(res.model, heldOut);
  const ndcg = ndcgAtK(model, heldOut.labels, heldOut.groups, 3);
  const random = randomNdcg(heldOut, 3, 5);
  const single = bestSingleFeature(heldOut, 3);
  t.comment(`held-out NDCG@3 model ${ndcg.toFixed(3)} single ${single.toFixed(3)} random ${random.toFixed(3)}`);
  t.ok(ndcg > random + 0.3, 'far above random');
  t.ok(ndcg > single + 0.1, 'above the best single feature');
  t.ok(res.metrics.valid_ndcg_at_k > single, 'validation NDCG above the single-feature baseline');
  t.equal(res.model.metrics['valid_ndcg@3'], res.metrics.valid_ndcg_at_k);
  t.same(progress, Array.from({ length: res.metrics.iterations }, (_, i) => i + 1));
});

t.test('same seed gives the same model; another seed changes the sampled trees', async (t) => {
  const data = syntheticRanking({ groups: 300, numFeatures: 8, seed: 11 });
  const params = { ...SMALL, n_estimators: 20, bagging_fraction: 0.7, bagging_freq: 2, feature_fraction: 0.6, seed: 9 };
  const a = trainLambdaMart(data, params);
  const b = trainLambdaMart(data, params);
  const stable = (m: ModelJson): string =>
    JSON.stringify({ ...m, created_at: '', model_version: m.model_version.slice(-8), training: { ...m.training, duration_ms: 0 } });
  t.equal(stable(a.model), stable(b.model));
  t.equal(a.dataHash, b.dataHash);
  t.same(a.scores, b.scores);
  const c = trainLambdaMart(data, { ...params, seed: 10 });
  t.not(JSON.stringify(c.model.trees), JSON.stringify(a.model.trees));
  t.equal(c.dataHash, a.dataHash, 'the data hash depends on the data only');
});

t.test('model JSON conforms to docs/ranker-format.md', async (t) => {
  const data = syntheticRanking({ groups: 300, numFeatures: 8, seed: 12 });
  const res = trainLambdaMart(data, { ...SMALL, n_estimators: 15, num_leaves: 9 });
  const m = res.model;
  t.same(formatProblems(m, 9), []);
  t.same(JSON.parse(JSON.stringify(m)), m, 'plain JSON: survives a round trip unchanged');
  t.same(m.feature_names, data.featureNames);
  t.equal(m.trees.length, res.metrics.best_iteration);
  t.ok(m.trees.some((tree) => tree.leaf_value.length === 9), 'trees grow to num_leaves');
  t.equal(m.training.data_hash, res.dataHash);
  t.match(res.dataHash, /^[0-9a-f]{64}$/);
  t.equal(m.model_version.slice(-8), res.dataHash.slice(0, 8));
  t.equal(m.training.rows, data.labels.length);
  t.equal(m.training.groups, data.groups.length);
  t.equal(m.training.params.num_leaves, 9);
  t.equal(m.training.params.learning_rate, DEFAULT_PARAMS.learning_rate);
});

t.test('exported model reproduces training-time scores exactly', async (t) => {
  const data = syntheticRanking({ groups: 400, numFeatures: 7, seed: 21, missingRate: 0.4 });
  // Few bins force quantile midpoints; also add a column of neighbouring float32 values.
  const F = 7;
  for (let r = 0; r < data.labels.length; r++) data.features[r * F + 6] = Math.fround(1 + (r % 40) * 2 ** -23);
  const res = trainLambdaMart(data, { ...SMALL, n_estimators: 25, max_bin: 12, bagging_fraction: 0.8 });
  const model = JSON.parse(JSON.stringify(res.model)) as ModelJson;
  const rows = data.labels.length;
  const direct = predictRows(model, data.features, rows, F);
  let mismatches = 0;
  for (let r = 0; r < rows; r++) if (!Object.is(direct[r], res.scores[r])) mismatches++;
  t.equal(mismatches, 0, 'training, out-of-bag and validation rows all bit-identical');
  // A wider stride with junk in the extra columns scores the same.
  const padded = new Float32Array(rows * (F + 2)).fill(123);
  for (let r = 0; r < rows; r++) padded.set(data.features.subarray(r * F, r * F + F), r * (F + 2));
  t.same(predictRows(model, padded, rows, F + 2), direct);
  t.throws(() => predictRows(model, data.features, rows, F - 1), RangeError);
});

t.test('a feature whose missingness is the signal gets learned', async (t) => {
  const make = (groups: number, seed: number): RankingDataset => {
    const rng = createRng(seed);
    const F = 5;
    const per = 5;
    const features = new Float32Array(groups * per * F);
    const labels = new Float32Array(groups * per);
    for (let g = 0; g < groups; g++) {
      const hit = rng.int(per);
      for (let c = 0; c < per; c++) {
        const r = g * per + c;
        labels[r] = c === hit ? 1 : 0;
        for (let f = 0; f < F; f++) features[r * F + f] = rng.next();
        if (rng.next() < (c === hit ? 0.85 : 0.1)) features[r * F + 2] = NaN;
      }
    }
    return { features, labels, groups: new Uint32Array(groups).fill(per), featureNames: ['a', 'b', 'c', 'd', 'e'] };
  };
  const data = make(500, 31);
  const heldOut = make(300, 32);
  const res = trainLambdaMart(data, { ...SMALL, n_estimators: 30 });
  const ndcg = ndcgAtK(score(res.model, heldOut), heldOut.labels, heldOut.groups, 3);
  const random = randomNdcg(heldOut, 3, 6);
  t.comment(`held-out NDCG@3 ${ndcg.toFixed(3)} random ${random.toFixed(3)}`);
  t.ok(ndcg > random + 0.2, 'far above random');
  t.equal(res.model.trees[0].split_feature[0], 2, 'the first split is on the feature with the signal');
  const present = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.5]);
  const absent = Float32Array.from([0.5, 0.5, NaN, 0.5, 0.5]);
  t.ok(predictRows(res.model, absent, 1, 5)[0] > predictRows(res.model, present, 1, 5)[0], 'NaN scores higher');
});

t.test('early stopping truncates the model to the best round', async (t) => {
  // Pure noise: validation NDCG cannot keep improving.
  const rng = createRng(41);
  const groups = 300;
  const per = 6;
  const F = 4;
  const features = Float32Array.from({ length: groups * per * F }, () => rng.next());
  const labels = new Float32Array(groups * per);
  for (let g = 0; g < groups; g++) labels[g * per + rng.int(per)] = 1;
  const data = { features, labels, groups: new Uint32Array(groups).fill(per), featureNames: ['a', 'b', 'c', 'd'] };
  const seen: number[] = [];
  const res = trainLambdaMart(
    data,
    { n_estimators: 200, num_leaves: 7, min_data_in_leaf: 5, early_stopping_rounds: 5, validation_fraction: 0.3 },
    { onProgress: (_, total, v) => (t.equal(total, 200), seen.push(v)) },
  );
  const { best_iteration, iterations } = res.metrics;
  t.ok(iterations < 200, `stopped after ${iterations} rounds`);
  t.equal(iterations, best_iteration + 5);
  t.equal(res.model.trees.length, best_iteration);
  t.equal(res.model.metrics.best_iteration, best_iteration);
  t.equal(seen.length, iterations);
  t.equal(res.metrics.valid_ndcg_at_k, Math.max(...seen), 'reported metric is the best round');
  t.equal(seen[best_iteration - 1], Math.max(...seen));
  const direct = score(res.model, data);
  t.ok(direct.every((v, r) => Object.is(v, res.scores[r])), 'scores are those of the truncated model');
  const all = trainLambdaMart(data, { n_estimators: 12, num_leaves: 7, min_data_in_leaf: 5, early_stopping_rounds: 0 });
  t.equal(all.model.trees.length, 12, 'early_stopping_rounds 0 keeps every tree');
});

t.test('singleton groups and all-zero or all-equal label groups do not break training', async (t) => {
  const rng = createRng(51);
  const sizes: number[] = [];
  const labelList: number[] = [];
  for (let g = 0; g < 240; g++) {
    const size = [1, 3, 6, 4][g % 4];
    const kind = g % 5; // 0: all zero, 1: all relevant, else: one relevant
    sizes.push(size);
    const hit = rng.int(size);
    for (let c = 0; c < size; c++) labelList.push(kind === 0 ? 0 : kind === 1 ? 1 : c === hit ? 2 : 0);
  }
  const rows = labelList.length;
  const F = 3;
  const labels = Float32Array.from(labelList);
  const features = Float32Array.from({ length: rows * F }, (_, i) => (i % F === 0 ? labels[Math.floor(i / F)] + rng.next() : rng.next()));
  const data = { features, labels, groups: Uint32Array.from(sizes), featureNames: ['signal', 'n1', 'n2'] };
  const res = trainLambdaMart(data, { n_estimators: 20, num_leaves: 7, min_data_in_leaf: 5 });
  t.same(formatProblems(res.model, 7), []);
  t.ok(res.metrics.valid_ndcg_at_k > 0.9, `valid NDCG@3 ${res.metrics.valid_ndcg_at_k}`);
  t.ok(score(res.model, data).every((v, r) => Object.is(v, res.scores[r])));

  // Nothing to learn at all: every group is a single row.
  const single = trainLambdaMart({
    features: Float32Array.from([1, 2, 3, 4]),
    labels: Float32Array.from([1, 0, 1, 0]),
    groups: Uint32Array.from([1, 1, 1, 1]),
    featureNames: ['x'],
  });
  t.equal(single.model.trees.length, 1, 'one constant tree, then stop');
  t.same(single.model.trees[0].split_feature, []);
  t.same(single.model.trees[0].leaf_value, [0]);
  t.same(formatProblems(single.model, 31), []);
});

t.test('bad parameters and inconsistent datasets are refused with a named reason', async (t) => {
  const data = syntheticRanking({ groups: 10, numFeatures: 6 });
  t.throws(() => trainLambdaMart(data, { num_leaves: 1 }), /num_leaves/);
  t.throws(() => trainLambdaMart(data, { learning_rate: 0 }), /learning_rate/);
  t.throws(() => trainLambdaMart(data, { max_bin: 300 }), /max_bin/);
  t.throws(() => trainLambdaMart(data, { nope: 1 } as never), /unknown parameter "nope"/);
  t.throws(() => trainLambdaMart({ ...data, groups: Uint32Array.from([59]) }), /sum to 59/);
  t.throws(() => trainLambdaMart({ ...data, featureNames: data.featureNames.slice(1) }), /features.length/);
  const inf = data.features.slice();
  inf[7] = Infinity;
  t.throws(() => trainLambdaMart({ ...data, features: inf }), /"f1" of row 1 is infinite/);
});
