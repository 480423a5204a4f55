/**
 * Ranker micro benchmark: a random 100-tree, 31-leaf model over 20 features scores
 * batches of 20 candidates with the WASM evaluator's two methods (QuickScorer, which
 * such a model gets by default, and the tree walk, forced with allowQuickScorer(false))
 * and the TS reference, all in the same run.
 *
 *   npx ts-node --transpile-only bench/ranker-micro.ts
 *
 * Prints JSON (ns per candidate for each, the ratios, us per 20-candidate batch) and a
 * markdown table. `wasm_*` is the full `score()` call a worker makes (copy in, score, copy
 * out); `wasm_inner_*` is the scoring loop alone (wasm `bench` export, no JS crossing) on
 * one batch repeated, which branch predictors learn, so it is a lower bound only.
 * Times are wall clock; `cpu_*` repeat them in process CPU time, which is the steadier
 * figure on a shared machine (load average is recorded with the results).
 */
import os from 'node:os';
import { loadWasmEvaluator } from '../core-wasm/loader';
import { parseRankerModel } from '../core-wasm/model';
import { makeRng, randomModelJson, randomRows } from '../core-wasm/random-model';
import { ReferenceEvaluator } from '../core-wasm/reference';

const TREES = 100;
const LEAVES = 31;
const FEATURES = 20;
const CANDIDATES = 20;
/** Distinct input batches cycled through, so branch predictors cannot learn one batch. */
const BATCHES = 256;
const ITERATIONS = 5000;
const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

interface Timing { ns: number; cpuNs: number }

/** Wall and CPU ns per candidate of one round of `calls` x `run()`, `candidates` each. */
function timeRound(calls: number, candidates: number, run: () => void): Timing {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  run();
  const wall = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpu0);
  return { ns: wall / (calls * candidates), cpuNs: ((cpu.user + cpu.system) * 1000) / (calls * candidates) };
}

/** Medians over ROUNDS rounds of ITERATIONS calls of `run(batchIndex)`, after a warm-up. */
function measure(run: (i: number) => number): Timing & { checksum: number } {
  let checksum = 0;
  for (let i = 0; i < 2000; i++) checksum += run(i % BATCHES); // warm-up (JIT / wasm tier-up)
  const rounds: Timing[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(timeRound(ITERATIONS, CANDIDATES, () => {
      for (let i = 0; i < ITERATIONS; i++) checksum += run(i % BATCHES);
    }));
  }
  return { ns: median(rounds.map((x) => x.ns)), cpuNs: median(rounds.map((x) => x.cpuNs)), checksum };
}

async function main(): Promise<void> {
  const rng = makeRng(2026);
  const model = parseRankerModel(randomModelJson(rng, { numFeatures: FEATURES, numTrees: TREES, leaves: LEAVES }));
  const batches = Array.from({ length: BATCHES }, () => randomRows(rng, CANDIDATES, FEATURES, 0.05));

  const wasm = await loadWasmEvaluator();
  wasm.setModel(model);
  const walk = await loadWasmEvaluator();
  walk.allowQuickScorer(false);
  walk.setModel(model);
  if (wasm.method !== 'quickscorer' || walk.method !== 'tree-walk') throw new Error(`methods: ${wasm.method}, ${walk.method}`);
  const ref = new ReferenceEvaluator(model);
  const wasmOut = new Float32Array(CANDIDATES);
  const refOut = new Float32Array(CANDIDATES);

  // Same answers before timing anything.
  for (const b of batches) {
    const a = wasm.score(b, CANDIDATES, FEATURES);
    const aw = walk.score(b, CANDIDATES, FEATURES);
    const r = ref.score(b, CANDIDATES, FEATURES);
    for (let i = 0; i < CANDIDATES; i++) {
      if (!Object.is(a[i], r[i]) || !Object.is(aw[i], r[i])) throw new Error(`wasm and reference disagree: ${a[i]}, ${aw[i]} vs ${r[i]}`);
    }
  }

  const w = measure((i) => wasm.score(batches[i], CANDIDATES, FEATURES, wasmOut)[0]);
  const wk = measure((i) => walk.score(batches[i], CANDIDATES, FEATURES, wasmOut)[0]);
  const ts = measure((i) => ref.score(batches[i], CANDIDATES, FEATURES, refOut)[0]);
  wasm.inputView(CANDIDATES, FEATURES).set(batches[0]);
  const innerCalls = ITERATIONS * 4;
  wasm.benchInput(1000, CANDIDATES, FEATURES);
  const innerRounds: Timing[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    innerRounds.push(timeRound(innerCalls, CANDIDATES, () => wasm.benchInput(innerCalls, CANDIDATES, FEATURES)));
  }
  const inner = { ns: median(innerRounds.map((x) => x.ns)), cpuNs: median(innerRounds.map((x) => x.cpuNs)) };

  const round = (x: number, d = 1): number => Number(x.toFixed(d));
  const cpus = os.cpus();
  const perBatchUs = (ns: number): number => round((ns * CANDIDATES) / 1000, 2);
  const result = {
    scenario: 'ranker-micro',
    model: { trees: TREES, leaves_per_tree: LEAVES, features: FEATURES },
    candidates_per_batch: CANDIDATES,
    wasm_ns_per_candidate: round(w.ns),
    wasm_walk_ns_per_candidate: round(wk.ns),
    ts_ns_per_candidate: round(ts.ns),
    ratio: round(ts.ns / w.ns, 2),
    walk_over_quickscorer: round(wk.ns / w.ns, 2),
    cpu_walk_over_quickscorer: round(wk.cpuNs / w.cpuNs, 2),
    us_per_20_candidates_wasm: perBatchUs(w.ns),
    us_per_20_candidates_ts: perBatchUs(ts.ns),
    wasm_inner_ns_per_candidate: round(inner.ns),
    cpu_wasm_ns_per_candidate: round(w.cpuNs),
    cpu_wasm_walk_ns_per_candidate: round(wk.cpuNs),
    cpu_ts_ns_per_candidate: round(ts.cpuNs),
    cpu_us_per_20_candidates_wasm: perBatchUs(w.cpuNs),
    cpu_wasm_inner_ns_per_candidate: round(inner.cpuNs),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      loadavg_1m: round(os.loadavg()[0], 2),
    },
    method: `median of ${ROUNDS} rounds x ${ITERATIONS} batches, ${BATCHES} distinct batches`,
    checksum: round(w.checksum + wk.checksum + ts.checksum, 3),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log('');
  console.log('| evaluator | ns / candidate | us / 20 candidates | CPU us / 20 candidates |');
  console.log('|---|---:|---:|---:|');
  console.log(`| WASM score(), QuickScorer | ${result.wasm_ns_per_candidate} | ${result.us_per_20_candidates_wasm} | ${perBatchUs(w.cpuNs)} |`);
  console.log(`| WASM score(), tree walk | ${result.wasm_walk_ns_per_candidate} | ${perBatchUs(wk.ns)} | ${perBatchUs(wk.cpuNs)} |`);
  console.log(`| WASM inner loop, QuickScorer (one batch repeated) | ${result.wasm_inner_ns_per_candidate} | ${perBatchUs(inner.ns)} | ${perBatchUs(inner.cpuNs)} |`);
  console.log(`| TS reference | ${result.ts_ns_per_candidate} | ${result.us_per_20_candidates_ts} | ${perBatchUs(ts.cpuNs)} |`);
  console.log('');
  console.log(`tree walk / QuickScorer = ${result.walk_over_quickscorer}x (CPU ${result.cpu_walk_over_quickscorer}x), TS / WASM = ${result.ratio}x on ${result.machine.cpu} (${result.machine.cores} cores, load ${result.machine.loadavg_1m}), Node ${process.version}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
