// WASM evaluator (release and debug builds) against the TS reference: bit-identical
// scores on thousands of seeded random models, plus hand-built edge cases whose exact
// scores are known.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { packageRoot } from '../engine/package-root';
import { compileRankerWasm, loadWasmEvaluator, loadWasmEvaluatorSync, resolveWasmPath, WasmEvaluator } from '../core-wasm/loader';
import { loadRankerModelFile, parseRankerModel, RankerModel, RankerModelJson, TreeJson } from '../core-wasm/model';
import { makeRng, randomModelJson, randomRows, TreeShape } from '../core-wasm/random-model';
import { ReferenceEvaluator } from '../core-wasm/reference';
import { FEATURE_NAMES, NUM_FEATURES } from '../engine/features';

const root = packageRoot();
const builds = [
  { name: 'release', debug: false },
  { name: 'debug', debug: true },
] as const;

// npm test builds first; a lone `npx tap test/wasm-parity.test.ts` may not have.
if (builds.some((b) => !existsSync(resolveWasmPath({ debug: b.debug })))) {
  execFileSync('npm', ['run', 'build:wasm'], { cwd: root, stdio: 'ignore' });
}

/** First index where the two score arrays differ (Object.is per f32 value), or -1. */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function model(trees: TreeJson[], numFeatures: number, baseScore = 0): RankerModel {
  const json: RankerModelJson = {
    format: 'opensesame-gbdt',
    format_version: 1,
    model_version: 'test',
    objective: 'lambdarank',
    feature_names: Array.from({ length: numFeatures }, (_, i) => `f${i}`),
    num_features: numFeatures,
    base_score: baseScore,
    trees,
  };
  return parseRankerModel(json);
}

/** One split on `feature`: left leaf `lo`, right leaf `hi`. */
function stump(feature: number, threshold: number, defaultLeft: boolean, lo: number, hi: number): TreeJson {
  return {
    split_feature: [feature], threshold: [threshold], default_left: [defaultLeft],
    left_child: [-1], right_child: [-2], leaf_value: [lo, hi],
  };
}

/** Chain of `depth` nodes on f0: node i sends x <= i to leaf i, else to node i+1; leaf value = leaf index. */
function chain(depth: number): TreeJson {
  const t: TreeJson = { split_feature: [], threshold: [], default_left: [], left_child: [], right_child: [], leaf_value: [] };
  for (let i = 0; i < depth; i++) {
    t.split_feature.push(0);
    t.threshold.push(i);
    t.default_left.push(false);
    t.left_child.push(~i);
    t.right_child.push(i + 1 < depth ? i + 1 : ~depth);
  }
  for (let i = 0; i <= depth; i++) t.leaf_value.push(i);
  return t;
}

function suite(name: string, debug: boolean): void {
  t.test(`${name} build`, async (t) => {
    const ev = await loadWasmEvaluator({ debug });

    t.test('bit-identical to the reference on thousands of random models', async (t) => {
      const rng = makeRng(debug ? 0xdeb : 0x5eed);
      const shapes: TreeShape[] = ['random', 'balanced', 'chain'];
      const models = 2000;
      let rowsChecked = 0;
      const methods = { 'tree-walk': 0, quickscorer: 0, none: 0 };
      for (let k = 0; k < models; k++) {
        const numFeatures = 1 + Math.floor(rng() * 24);
        const shape = shapes[k % shapes.length];
        const json = randomModelJson(rng, {
          numFeatures,
          numTrees: Math.floor(rng() * 40), // includes 0-tree models
          leaves: shape === 'chain' ? [1, 12] : [1, 40],
          shape,
          singleLeafRate: 0.1,
          leafScale: k % 50 === 0 ? 3e38 : 10 ** (Math.floor(rng() * 8) - 4), // some sums overflow to +-Inf / NaN
          baseScore: rng() < 0.5 ? 0 : (rng() - 0.5) * 4,
        });
        const m = parseRankerModel(json);
        ev.setModel(m);
        methods[ev.method]++;
        const ref = new ReferenceEvaluator(m);
        const rows = Math.floor(rng() * 64);
        const stride = numFeatures + Math.floor(rng() * 4);
        const x = randomRows(rng, rows, stride, 0.15);
        const got = ev.score(x, rows, stride);
        const want = ref.score(x, rows, stride);
        const bad = firstMismatch(got, want);
        if (bad >= 0) {
          t.fail(`model ${k} row ${bad}: wasm ${got[bad]} vs reference ${want[bad]}`);
          return;
        }
        rowsChecked += rows;
      }
      t.ok(rowsChecked > 25 * models, `${models} models, ${rowsChecked} rows, all bit-identical`);
      // Trees of up to 32 leaves take QuickScorer, larger ones the walk: both ran often.
      t.ok(methods.quickscorer > models / 4 && methods['tree-walk'] > models / 4, `methods used: ${JSON.stringify(methods)}`);
      t.equal(methods.none, 0);
    });

    t.test('QuickScorer and the tree walk agree on the shipped model and at the 32-leaf boundary', async (t) => {
      const shipped = loadRankerModelFile(path.join(root, 'models', 'ranker.json'), FEATURE_NAMES);
      const walk = loadWasmEvaluatorSync({ debug });
      walk.allowQuickScorer(false);
      const rng = makeRng(32);
      ev.setModel(shipped);
      walk.setModel(shipped);
      t.equal(ev.method, 'quickscorer', 'the shipped model (31-leaf trees) is scored by QuickScorer');
      t.equal(walk.method, 'tree-walk');
      const ref = new ReferenceEvaluator(shipped);
      for (const rows of [1, 7, 8, 9, 64, 301]) {
        const x = randomRows(rng, rows, NUM_FEATURES, 0.2, [-1, 0, 0.5, 1, 2, 3, 10]);
        const want = ref.score(x, rows, NUM_FEATURES);
        t.equal(firstMismatch(ev.score(x, rows, NUM_FEATURES), want), -1, `quickscorer, ${rows} rows`);
        t.equal(firstMismatch(walk.score(x, rows, NUM_FEATURES), want), -1, `tree walk, ${rows} rows`);
      }
      // 32 leaves is the most a u32 bitvector holds; 33 falls back to the walk.
      const xs = new Float32Array([100, 3, 0, -5, 30, 30.5, 31, Infinity, -Infinity, NaN]);
      ev.setModel(model([chain(31)], 1));
      t.equal(ev.method, 'quickscorer', '32 leaves');
      t.same(Array.from(ev.score(xs, xs.length, 1)), [31, 3, 0, 0, 30, 31, 31, 31, 0, 31]);
      ev.setModel(model([chain(31), chain(32)], 1));
      t.equal(ev.method, 'tree-walk', 'one tree of 33 leaves');
      t.same(Array.from(ev.score(xs, xs.length, 1)), [63, 6, 0, 0, 60, 62, 62, 63, 0, 63]);
    });

    t.test('deep unbalanced trees (depth >= 30)', async (t) => {
      const rng = makeRng(30);
      const json = randomModelJson(rng, { numFeatures: 5, numTrees: 20, leaves: [31, 60], shape: 'chain' });
      const m = parseRankerModel(json);
      ev.setModel(m);
      const x = randomRows(rng, 500, 5);
      t.equal(firstMismatch(ev.score(x, 500, 5), new ReferenceEvaluator(m).score(x, 500, 5)), -1);

      const deep = model([chain(40)], 1);
      ev.setModel(deep);
      // x = 100 walks all 40 nodes to the deepest leaf; x == threshold goes left.
      const xs = new Float32Array([100, 3, 0, -5, 39, 39.5, Infinity, -Infinity, NaN]);
      const want = new Float32Array([40, 3, 0, 0, 39, 40, 40, 0, 40]);
      t.same(Array.from(ev.score(xs, xs.length, 1)), Array.from(want));
      t.same(Array.from(new ReferenceEvaluator(deep).score(xs, xs.length, 1)), Array.from(want));
    });

    t.test('NaN follows default_left in both directions', async (t) => {
      const m = model([stump(0, 0.5, true, 1, 2), stump(1, 0.5, false, 10, 20)], 2);
      ev.setModel(m);
      const x = new Float32Array([NaN, NaN, 0.5, 0.6, NaN, 0.1, 0.7, NaN]);
      // rows: (NaN,NaN) -> left 1 + right 20; (0.5,0.6) -> 1 + 20; (NaN,0.1) -> 1 + 10; (0.7,NaN) -> 2 + 20
      t.same(Array.from(ev.score(x, 4, 2)), [21, 21, 11, 22]);
      t.same(Array.from(new ReferenceEvaluator(m).score(x, 4, 2)), [21, 21, 11, 22]);
    });

    t.test('+-Infinity inputs and thresholds at exactly x', async (t) => {
      const m = model([stump(0, 0, false, 1, 2), stump(0, -1e30, true, 4, 8)], 1, 0.5);
      ev.setModel(m);
      const x = new Float32Array([Infinity, -Infinity, 0, -0, Math.fround(-1e30), 1e-45]);
      const want = [0.5 + 2 + 8, 0.5 + 1 + 4, 0.5 + 1 + 8, 0.5 + 1 + 8, 0.5 + 1 + 4, 0.5 + 2 + 8];
      t.same(Array.from(ev.score(x, 6, 1)), want);
      t.same(Array.from(new ReferenceEvaluator(m).score(x, 6, 1)), want);
      // -0 and +0 are equal as float32: both go left of a 0 or -0 threshold.
      const zeros = model([stump(0, -0, false, 1, 2), stump(0, 0, false, 10, 20)], 1);
      ev.setModel(zeros);
      const z = new Float32Array([0, -0, 1e-45, -1e-45]);
      t.same(Array.from(ev.score(z, 4, 1)), [11, 11, 22, 11]);
      t.same(Array.from(new ReferenceEvaluator(zeros).score(z, 4, 1)), [11, 11, 22, 11]);
    });

    t.test('single-leaf trees and float32 accumulation in tree order', async (t) => {
      const leaf = (v: number): TreeJson => ({
        split_feature: [], threshold: [], default_left: [], left_child: [], right_child: [], leaf_value: [v],
      });
      // 1e8 + 1 + 1 ... in float32: each +1 is lost (ulp of 1e8 is 8), so order matters.
      const m = model([leaf(1e8), leaf(1), leaf(1), leaf(1), leaf(-1e8)], 3, 0);
      ev.setModel(m);
      const x = new Float32Array(6);
      t.same(Array.from(ev.score(x, 2, 3)), [0, 0]);
      t.same(Array.from(new ReferenceEvaluator(m).score(x, 2, 3)), [0, 0]);
      const m2 = model([leaf(0.1), leaf(0.2)], 1, 0.3);
      ev.setModel(m2);
      const expected = Math.fround(Math.fround(Math.fround(0.3) + Math.fround(0.1)) + Math.fround(0.2));
      t.equal(ev.score(new Float32Array(1), 1, 1)[0], expected);
    });

    t.test('zero candidates, zero trees, stride wider than num_features, out buffer', async (t) => {
      const rng = makeRng(7);
      const m = parseRankerModel(randomModelJson(rng, { numFeatures: 4, numTrees: 10, leaves: [2, 9] }));
      ev.setModel(m);
      const ref = new ReferenceEvaluator(m);
      const empty = ev.score(new Float32Array(0), 0, 4);
      t.ok(empty instanceof Float32Array);
      t.equal(empty.length, 0);
      t.equal(ref.score(new Float32Array(0), 0, 4).length, 0);

      // Same rows at stride 4 and padded to stride 11 with junk: same scores.
      const rows = 64;
      const narrow = randomRows(rng, rows, 4);
      const wide = new Float32Array(rows * 11).fill(NaN);
      for (let r = 0; r < rows; r++) {
        wide.set(narrow.subarray(r * 4, r * 4 + 4), r * 11);
        wide[r * 11 + 4] = Infinity;
        wide[r * 11 + 10] = -7;
      }
      const a = ev.score(narrow, rows, 4);
      t.equal(firstMismatch(ev.score(wide, rows, 11), a), -1);
      t.equal(firstMismatch(ref.score(wide, rows, 11), a), -1);

      const out = new Float32Array(rows + 5).fill(-1);
      const written = ev.score(narrow, rows, 4, out);
      t.equal(written.length, rows);
      t.equal(written.buffer, out.buffer, 'writes into the caller buffer');
      t.equal(firstMismatch(out.subarray(0, rows), a), -1);
      t.equal(out[rows], -1, 'leaves the rest of out alone');

      ev.setModel(model([], 2, 1.5));
      t.same(Array.from(ev.score(new Float32Array(4), 2, 2)), [1.5, 1.5]);
    });

    t.test('borrowed input view scores like score()', async (t) => {
      const rng = makeRng(11);
      const m = parseRankerModel(randomModelJson(rng, { numFeatures: 20, numTrees: 30, leaves: 31 }));
      ev.setModel(m);
      const x = randomRows(rng, 20, 20);
      const view = ev.inputView(20, 20);
      view.set(x);
      const a = ev.scoreInput(20, 20);
      t.equal(firstMismatch(a, new ReferenceEvaluator(m).score(x, 20, 20)), -1);
      t.ok(Number.isFinite(ev.benchInput(10, 20, 20)));
    });

    t.test('memory growth during a large batch keeps results right', async (t) => {
      const rng = makeRng(12);
      const m = parseRankerModel(randomModelJson(rng, { numFeatures: 8, numTrees: 25, leaves: [2, 31] }));
      ev.setModel(m);
      const before = ev.memoryBytes;
      const rows = 60000; // ~2 MB of input: forces memory.grow after the model is in place
      const x = randomRows(rng, rows, 8);
      const got = ev.score(x, rows, 8);
      t.ok(ev.memoryBytes > before, 'memory grew');
      t.equal(firstMismatch(got, new ReferenceEvaluator(m).score(x, rows, 8)), -1);
      const small = randomRows(rng, 20, 8);
      t.equal(firstMismatch(ev.score(small, 20, 8), new ReferenceEvaluator(m).score(small, 20, 8)), -1);
    });

    t.test('a model with more features keeps room for the batch it inherits', async (t) => {
      // Keys take whole groups of rows x the model's feature count; the buffers were sized
      // under a 2-feature model at a wide stride, and the next batch needs no ensureBatch.
      const fresh = loadWasmEvaluatorSync({ debug });
      const rng = makeRng(14);
      fresh.setModel(parseRankerModel(randomModelJson(rng, { numFeatures: 2, numTrees: 5, leaves: 7 })));
      fresh.score(randomRows(rng, 9, 100), 9, 100);
      const wide = parseRankerModel(randomModelJson(rng, { numFeatures: 90, numTrees: 20, leaves: [2, 31] }));
      fresh.setModel(wide);
      for (const rows of [9, 5, 1]) {
        const x = randomRows(rng, rows, 90);
        t.equal(firstMismatch(fresh.score(x, rows, 90), new ReferenceEvaluator(wide).score(x, rows, 90)), -1, `${rows} rows`);
      }
    });

    t.test('setModel replaces the model (smaller, then larger) and frees the old one', async (t) => {
      const fresh = loadWasmEvaluatorSync({ debug });
      const rng = makeRng(13);
      const big = parseRankerModel(randomModelJson(rng, { numFeatures: 12, numTrees: 400, leaves: 63 }));
      const small = parseRankerModel(randomModelJson(rng, { numFeatures: 3, numTrees: 2, leaves: 3 }));
      const x = randomRows(rng, 30, 12);
      fresh.setModel(big);
      t.equal(firstMismatch(fresh.score(x, 30, 12), new ReferenceEvaluator(big).score(x, 30, 12)), -1);
      fresh.setModel(small);
      t.equal(fresh.numFeatures, 3);
      t.equal(firstMismatch(fresh.score(x, 30, 12), new ReferenceEvaluator(small).score(x, 30, 12)), -1);
      fresh.setModel(big);
      t.equal(fresh.numFeatures, 12);
      t.equal(firstMismatch(fresh.score(x, 30, 12), new ReferenceEvaluator(big).score(x, 30, 12)), -1);
      const afterTwo = fresh.memoryBytes;
      // ~0.7 MB per copy of `big`: without freeing, 40 swaps would need ~28 MB more.
      for (let i = 0; i < 20; i++) {
        fresh.setModel(small);
        fresh.setModel(big);
      }
      t.ok(fresh.memoryBytes <= afterTwo + (1 << 20), `memory ${fresh.memoryBytes} stays near ${afterTwo}`);
      t.equal(firstMismatch(fresh.score(x, 30, 12), new ReferenceEvaluator(big).score(x, 30, 12)), -1);
    });

    t.test('faults are reported, not silently scored', async (t) => {
      const fresh = new WasmEvaluator(new Uint8Array(readFileSync(resolveWasmPath({ debug }))));
      t.equal(fresh.numFeatures, 0);
      t.throws(() => fresh.score(new Float32Array(4), 1, 4), /no model loaded/);
      const m = model([stump(2, 0, true, 1, 2)], 3);
      fresh.setModel(m);
      t.throws(() => fresh.score(new Float32Array(4), 2, 2), RangeError, 'stride < num_features');
      t.throws(() => fresh.score(new Float32Array(5), 2, 3), RangeError, 'features too short');
      t.throws(() => fresh.score(new Float32Array(6), 2, 3, new Float32Array(1)), RangeError, 'out too short');
      t.throws(() => fresh.score(new Float32Array(6), 1.5, 3), RangeError, 'fractional rows');
      t.throws(() => new ReferenceEvaluator(m).score(new Float32Array(4), 2, 2), RangeError);
      // A hand-made RankerModel that skipped the validator is refused inside wasm.
      const broken: RankerModel = { ...m, flat: { ...m.flat, leftChild: Int32Array.of(5) } };
      t.throws(() => fresh.setModel(broken), /refused the model: bad node 0/);
      t.equal(fresh.numFeatures, 0, 'no model after a refused one');
      // Past the JS checks, wasm itself refuses (abort -> readable JS error, not a bad read).
      fresh.setModel(m);
      const raw = (fresh as unknown as { ex: { scoreBatch(rows: number, stride: number): void } }).ex;
      t.throws(() => raw.scoreBatch(1_000_000, 3), /ranker wasm abort: ranker: rows\/stride exceed the batch buffer/);
    });
  });
}

for (const b of builds) suite(b.name, b.debug);

t.test('a module compiled once instantiates synchronously in a worker thread', async (t) => {
  const mod = await compileRankerWasm();
  const rng = makeRng(99);
  const json = randomModelJson(rng, { numFeatures: 20, numTrees: 50, leaves: 31 });
  const rows = randomRows(rng, 20, 20);
  // The worker loads the TS sources like this file does (ts-node when no loader is active).
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    if (!require.extensions['.ts']) require(${JSON.stringify(require.resolve('ts-node'))}).register({ transpileOnly: true });
    const { WasmEvaluator } = require(${JSON.stringify(path.join(root, 'core-wasm', 'loader.ts'))});
    const { parseRankerModel } = require(${JSON.stringify(path.join(root, 'core-wasm', 'model.ts'))});
    const ev = new WasmEvaluator(workerData.mod);
    ev.setModel(parseRankerModel(workerData.json));
    parentPort.postMessage(ev.score(workerData.rows, 20, 20));
  `;
  const worker = new Worker(code, { eval: true, workerData: { mod, json, rows } });
  t.teardown(() => worker.terminate());
  const scores = await new Promise<Float32Array>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const want = new ReferenceEvaluator(parseRankerModel(json)).score(rows, 20, 20);
  t.equal(firstMismatch(scores, want), -1, 'worker scores are bit-identical to the reference');
});

t.test('wasm path resolves from the package root', async (t) => {
  t.equal(resolveWasmPath(), path.join(root, 'core-wasm', 'build', 'ranker.release.wasm'));
  t.equal(resolveWasmPath({ debug: true }), path.join(root, 'core-wasm', 'build', 'ranker.debug.wasm'));
  await t.rejects(loadWasmEvaluator({ wasmPath: path.join(root, 'core-wasm', 'build', 'missing.wasm') }), /build:wasm/);
});
