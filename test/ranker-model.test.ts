// The ranker model validator (core-wasm/model.ts): a good model loads into typed arrays;
// every kind of bad file is refused with a stable code and a message naming the problem.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { Test } from 'tap';
import {
  loadRankerModelFile,
  parseRankerModel,
  parseRankerModelText,
  RankerModelError,
  RankerModelErrorCode,
  RankerModelJson,
} from '../core-wasm/model';
import { makeRng, randomModelJson } from '../core-wasm/random-model';

const FEATURES = ['time_since_last', 'session_length', 'resource_match'];

/** Two trees: a 3-node tree (nodes numbered out of order) and a single leaf. */
function goodModel(): RankerModelJson {
  return {
    format: 'opensesame-gbdt',
    format_version: 1,
    model_version: 'ranker-2026-11-28-3f2a9c1e',
    objective: 'lambdarank',
    feature_names: [...FEATURES],
    num_features: 3,
    base_score: 0.25,
    trees: [
      {
        split_feature: [2, 0, 1],
        threshold: [0.5, 0.1, 12],
        default_left: [true, false, true],
        left_child: [2, -1, -3],
        right_child: [1, -2, -4],
        leaf_value: [0.1, -0.2, 0.05, 0.3],
      },
      { split_feature: [], threshold: [], default_left: [], left_child: [], right_child: [], leaf_value: [-0.5] },
    ],
    training: { params: { n_estimators: 2, num_leaves: 4 }, data_hash: 'abc', rows: 10, groups: 2, duration_ms: 3 },
    metrics: { 'valid_ndcg@3': 0.9, best_iteration: 2 },
    created_at: '2026-11-28T01:02:03.000Z',
  };
}

/** goodModel() with `edit` applied to a deep copy. */
function variant(edit: (m: Record<string, any>) => void): unknown {
  const m = JSON.parse(JSON.stringify(goodModel())) as Record<string, any>;
  edit(m);
  return m;
}

function refused(t: Test, fn: () => unknown, code: RankerModelErrorCode, message: RegExp, label: string): void {
  try {
    fn();
    t.fail(`${label}: was accepted`);
  } catch (err) {
    t.ok(err instanceof RankerModelError, `${label}: RankerModelError`);
    t.equal((err as RankerModelError).code, code, `${label}: code ${code}`);
    t.match((err as Error).message, message, `${label}: message names the problem`);
  }
}

t.test('a good model loads from a file into typed arrays', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ranker-model-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ranker.json');
  writeFileSync(file, JSON.stringify(goodModel(), null, 2));

  const m = loadRankerModelFile(file, FEATURES);
  t.equal(m.modelVersion, 'ranker-2026-11-28-3f2a9c1e');
  t.equal(m.formatVersion, 1);
  t.equal(m.objective, 'lambdarank');
  t.same(m.featureNames, FEATURES);
  t.equal(m.numFeatures, 3);
  t.equal(m.baseScore, 0.25);
  t.equal(m.createdAt, '2026-11-28T01:02:03.000Z');
  t.same(m.training.params, { n_estimators: 2, num_leaves: 4 });
  t.equal(m.metrics['valid_ndcg@3'], 0.9);

  t.equal(m.trees.length, 2);
  const [a, b] = m.trees;
  t.ok(a.splitFeature instanceof Int32Array && a.threshold instanceof Float32Array && a.defaultLeft instanceof Uint8Array);
  t.same(Array.from(a.splitFeature), [2, 0, 1]);
  t.same(Array.from(a.threshold), [0.5, Math.fround(0.1), 12], 'thresholds are float32');
  t.same(Array.from(a.defaultLeft), [1, 0, 1]);
  t.same(Array.from(a.leftChild), [2, -1, -3]);
  t.same(Array.from(a.rightChild), [1, -2, -4]);
  t.same(Array.from(a.leafValue), [0.1, -0.2, 0.05, 0.3].map(Math.fround));
  t.equal(b.splitFeature.length, 0);
  t.same(Array.from(b.leafValue), [-0.5]);

  // The flat layout the WASM loader copies: trees back to back with offsets.
  t.equal(m.flat.numTrees, 2);
  t.equal(m.flat.totalNodes, 3);
  t.equal(m.flat.totalLeaves, 5);
  t.same(Array.from(m.flat.treeNodeOffset), [0, 3, 3]);
  t.same(Array.from(m.flat.treeLeafOffset), [0, 4, 5]);
  t.equal(b.leafValue.buffer, m.flat.leafValue.buffer, 'per-tree arrays are views, not copies');

  // Without a server feature list, and with optional metadata absent.
  const bare = parseRankerModel(variant((j) => {
    delete j.training;
    delete j.metrics;
    delete j.created_at;
  }));
  t.same(bare.training, {});
  t.equal(bare.createdAt, undefined);
});

t.test('random models of every shape pass validation', async (t) => {
  const rng = makeRng(42);
  for (const shape of ['random', 'balanced', 'chain'] as const) {
    const json = randomModelJson(rng, { numFeatures: 6, numTrees: 50, leaves: [1, 40], shape });
    const m = parseRankerModel(json);
    t.equal(m.trees.length, 50, shape);
    t.equal(m.flat.totalLeaves, m.flat.totalNodes + 50, `${shape}: one more leaf than nodes per tree`);
  }
});

t.test('bad files are refused with MODEL_IO / MODEL_FORMAT', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ranker-model-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const corrupt = path.join(dir, 'corrupt.json');
  writeFileSync(corrupt, JSON.stringify(goodModel()).slice(0, 120));
  refused(t, () => loadRankerModelFile(corrupt), 'MODEL_FORMAT', /not valid JSON/, 'truncated JSON');
  refused(t, () => parseRankerModelText('{"format": opensesame}'), 'MODEL_FORMAT', /not valid JSON/, 'bad JSON text');
  refused(t, () => loadRankerModelFile(path.join(dir, 'nope.json')), 'MODEL_IO', /cannot read .*nope\.json/, 'missing file');
  refused(t, () => parseRankerModel([1, 2]), 'MODEL_FORMAT', /expected a JSON object, got an array/, 'array');
  refused(t, () => parseRankerModel(null), 'MODEL_FORMAT', /expected a JSON object, got null/, 'null');
  refused(t, () => parseRankerModel(variant((j) => { j.format = 'lightgbm'; })), 'MODEL_FORMAT',
    /format: format is "lightgbm", expected "opensesame-gbdt"/, 'wrong format');
  refused(t, () => parseRankerModel(variant((j) => { delete j.format; })), 'MODEL_FORMAT', /format is undefined/, 'no format');
  refused(t, () => parseRankerModel(variant((j) => { j.model_version = ''; })), 'MODEL_FORMAT', /model_version/, 'empty model_version');
  refused(t, () => parseRankerModel(variant((j) => { j.trees = {}; })), 'MODEL_FORMAT', /trees: expected an array of trees/, 'trees not an array');
  refused(t, () => parseRankerModel(variant((j) => { j.metrics = [1]; })), 'MODEL_FORMAT', /metrics: expected an object/, 'metrics not an object');
});

t.test('unsupported versions are refused with MODEL_VERSION', async (t) => {
  refused(t, () => parseRankerModel(variant((j) => { j.format_version = 2; })), 'MODEL_VERSION',
    /format_version 2 is not supported \(supported: 1\)/, 'version 2');
  refused(t, () => parseRankerModel(variant((j) => { j.format_version = '1'; })), 'MODEL_VERSION', /format_version "1"/, 'string version');
  refused(t, () => parseRankerModel(variant((j) => { delete j.format_version; })), 'MODEL_VERSION', /format_version undefined/, 'missing version');
});

t.test('feature mismatches are refused with MODEL_FEATURES', async (t) => {
  refused(t, () => parseRankerModel(goodModel(), [...FEATURES, 'bigram_prob']), 'MODEL_FEATURES',
    /feature-count mismatch: the model has 3 features, the server computes 4/, 'server has more features');
  refused(t, () => parseRankerModel(goodModel(), ['session_length', 'time_since_last', 'resource_match']), 'MODEL_FEATURES',
    /feature-order mismatch at index 0: the model has "time_since_last", the server computes "session_length"/, 'order');
  refused(t, () => parseRankerModel(variant((j) => { j.num_features = 4; })), 'MODEL_FEATURES',
    /num_features is 4 but feature_names has 3 entries/, 'num_features vs names');
  refused(t, () => parseRankerModel(variant((j) => { j.feature_names[2] = 'session_length'; })), 'MODEL_FEATURES',
    /feature_names\[2\]: duplicate feature name "session_length"/, 'duplicate name');
  refused(t, () => parseRankerModel(variant((j) => { j.feature_names = 'a,b,c'; })), 'MODEL_FEATURES', /feature_names: expected an array/, 'names not an array');
  refused(t, () => parseRankerModel(variant((j) => { j.num_features = 2.5; })), 'MODEL_FEATURES', /num_features: expected a positive integer/, 'fractional count');
});

t.test('malformed trees are refused with MODEL_CORRUPT', async (t) => {
  const bad = (label: string, edit: (tree: Record<string, any[]>) => void, message: RegExp): void =>
    refused(t, () => parseRankerModel(variant((j) => edit(j.trees[0]))), 'MODEL_CORRUPT', message, label);

  bad('internal child out of range', (tr) => { tr.left_child[0] = 3; },
    /trees\[0\]\.left_child\[0\]: child index 3 is out of range: internal node 3 \(tree has 3 internal nodes\)/);
  bad('leaf child out of range', (tr) => { tr.right_child[1] = -5; },
    /trees\[0\]\.right_child\[1\]: child index -5 is out of range: leaf 4 \(tree has 4 leaves\)/);
  bad('child index beyond int32', (tr) => { tr.right_child[1] = -(2 ** 40); }, /right_child\[1\]: child index -1099511627776 is out of range/);
  bad('fractional child', (tr) => { tr.left_child[2] = 0.5; }, /left_child\[2\]: child index must be an integer, got 0\.5/);
  bad('cycle back to the root', (tr) => { tr.left_child[2] = 0; }, /left_child\[2\]: node 0 is reachable twice \(cycle or shared subtree\)/);
  bad('shared subtree', (tr) => { tr.right_child[0] = 2; }, /trees\[0\]\.right_child\[0\]: node 2 is reachable twice/);
  bad('leaf reached twice', (tr) => { tr.right_child[1] = -1; }, /right_child\[1\]: leaf 0 is reachable twice/);
  // Nodes 1 and 2 point at each other and nothing reaches them: a detached cycle.
  bad('detached cycle', (tr) => {
    tr.left_child = [-1, 2, -3];
    tr.right_child = [-2, -4, 1];
  }, /trees\[0\]: internal node 1 is not reachable from the root/);
  bad('array lengths disagree', (tr) => { tr.threshold.pop(); }, /trees\[0\]: array lengths disagree: threshold has 2 entries, split_feature has 3/);
  bad('leaf count mismatch', (tr) => { tr.leaf_value.push(1); },
    /trees\[0\]\.leaf_value: leaf count mismatch: 3 internal nodes need 4 leaf values, leaf_value has 5/);
  bad('missing array', (tr) => { delete tr.default_left; }, /trees\[0\]\.default_left: expected an array, got undefined/);
  bad('feature index out of range', (tr) => { tr.split_feature[1] = 3; }, /split_feature\[1\]: feature index 3 is outside \[0, 3\)/);
  bad('negative feature index', (tr) => { tr.split_feature[0] = -1; }, /split_feature\[0\]: feature index -1 is outside/);
  bad('NaN threshold (null in JSON)', (tr) => { tr.threshold[0] = null; }, /threshold\[0\]: expected a number, got null/);
  bad('threshold overflows float32', (tr) => { tr.threshold[2] = 1e39; }, /threshold\[2\]: 1e\+39 is not a finite float32 value/);
  bad('infinite leaf value', (tr) => { tr.leaf_value[3] = 1e300; }, /leaf_value\[3\]: 1e\+300 is not a finite float32 value/);
  bad('string leaf value', (tr) => { tr.leaf_value[0] = 'Infinity'; }, /leaf_value\[0\]: expected a number, got "Infinity"/);
  bad('default_left not boolean', (tr) => { tr.default_left[1] = 1; }, /default_left\[1\]: expected true or false, got 1/);
  refused(t, () => parseRankerModel(variant((j) => { j.base_score = null; })), 'MODEL_CORRUPT', /base_score: expected a number, got null/, 'base_score');
  refused(t, () => parseRankerModel(variant((j) => { j.trees[1] = 7; })), 'MODEL_CORRUPT', /trees\[1\]: expected a tree object, got 7/, 'tree not an object');
  refused(t, () => parseRankerModel(variant((j) => { j.trees[1].leaf_value = []; })), 'MODEL_CORRUPT',
    /trees\[1\]\.leaf_value: leaf count mismatch: 0 internal nodes need 1 leaf values, leaf_value has 0/, 'empty leaf tree');
});
