/**
 * Worker CPU on a large catalog, without the server: the engine path a pool worker runs
 * for one uncached prediction (prompt embedding, signals, candidates, features, WASM
 * ranker) over the 608-endpoint synthetic spec of the large-spec scenario, in-process.
 * For profiling (`node --cpu-prof -r ts-node/register/transpile-only bench/worker-large.ts`)
 * and a CPU-ms-per-prediction figure that a busy machine disturbs little.
 *
 *   npx ts-node --transpile-only bench/worker-large.ts [--count 4000] [--rounds 5] [--base ../main]
 *
 * Prints the process CPU ms per prediction (median of rounds) and a checksum of the
 * rankings, which must not change when the engine is made faster. With --base, first
 * runs every prediction through the built engine of that checkout too (its dist/engine)
 * and checks that candidates, every feature value (bit for bit) and the ranking agree.
 */
import { loadRankerModelFile } from '../core-wasm/model';
import { loadWasmEvaluator } from '../core-wasm/loader';
import { buildCatalog } from '../engine/catalog';
import { loadEncoder } from '../engine/embedder';
import { FEATURE_NAMES } from '../engine/features';
import { prepareCatalog } from '../engine/prepared-catalog';
import { DEFAULT_CANDIDATE_LIMIT, goalText, predict } from '../engine/predictor';
import { packageRoot } from '../engine/package-root';
import path from 'node:path';
import { buildLargeSpec, largeSpecPrompt } from './lib/synthetic-spec';
import { codeWords } from './lib/workload';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const COUNT = flag('count', 4000);
const ROUNDS = flag('rounds', 5);
const baseIdx = argv.indexOf('--base');
const BASE = baseIdx >= 0 ? path.resolve(argv[baseIdx + 1]!) : undefined;

/** Bit-for-bit equality of two f32 arrays (NaN equals NaN, -0 differs from +0). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

async function main(): Promise<void> {
  const spec = buildLargeSpec();
  const catalog = await buildCatalog(spec.doc, { specId: 'bench-large' });
  const encoder = await loadEncoder();
  const pc = await prepareCatalog(catalog, encoder);
  const evaluator = await loadWasmEvaluator();
  evaluator.setModel(loadRankerModelFile(path.join(packageRoot(), 'models', 'ranker.json'), FEATURE_NAMES));
  const scorer = (f: Float32Array, rows: number, stride: number) => evaluator.score(f, rows, stride);
  // Prompts and their embeddings up front: embedding is the same cost before and after.
  const prompts: string[] = [];
  const embeddings: Float32Array[] = [];
  for (let n = 0; n < COUNT; n++) {
    const prompt = largeSpecPrompt(spec.resources, n, `ref ${codeWords(n)}`);
    prompts.push(prompt);
    embeddings.push((await encoder.embed([goalText(prompt)])).slice(0, encoder.dim));
  }
  const history = (n: number) => (n % 3 === 0 ? [] : [{ api_call: `GET /${spec.resources[n % spec.resources.length]![0]}/${n}` }]);
  const input = (n: number) => ({ prompt: prompts[n]!, history: history(n), now: 1_700_000_000_000, promptEmbedding: embeddings[n], candidateLimit: DEFAULT_CANDIDATE_LIMIT });
  if (BASE) {
    const base = {
      prepareCatalog: require(path.join(BASE, 'dist/engine/prepared-catalog.js')).prepareCatalog as typeof prepareCatalog,
      predict: require(path.join(BASE, 'dist/engine/predictor.js')).predict as typeof predict,
    };
    const basePc = await base.prepareCatalog(catalog, encoder);
    let bad = 0;
    for (let n = 0; n < COUNT; n++) {
      const a = predict(pc, input(n), scorer);
      const b = base.predict(basePc, input(n), scorer);
      const same = a.candidates.join() === b.candidates.join() && sameBits(a.features, b.features) && JSON.stringify(a.ranked) === JSON.stringify(b.ranked);
      if (!same && bad++ < 3) process.stdout.write(`differs from ${BASE} on prediction ${n}: ${JSON.stringify(prompts[n])}\n`);
    }
    process.stdout.write(`${COUNT} predictions compared with ${BASE}: ${bad} differ\n`);
    if (bad) process.exit(1);
  }
  let checksum = 0;
  const run = (n: number) => {
    const out = predict(pc, input(n), scorer);
    for (let r = 0; r < 5; r++) checksum = (checksum * 31 + out.ranked[r]!.endpoint + Math.round(out.ranked[r]!.score * 1e6)) % 1_000_000_007;
  };
  for (let n = 0; n < Math.min(COUNT, 1000); n++) run(n); // warm-up
  const perRound: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    checksum = 0;
    const c0 = process.cpuUsage();
    for (let n = 0; n < COUNT; n++) run(n);
    const c = process.cpuUsage(c0);
    perRound.push((c.user + c.system) / 1000 / COUNT);
  }
  perRound.sort((a, b) => a - b);
  process.stdout.write(`${catalog.endpoints.length} endpoints, ${COUNT} predictions x ${ROUNDS} rounds: ${perRound[perRound.length >> 1]!.toFixed(3)} CPU ms/prediction (min ${perRound[0]!.toFixed(3)}), checksum ${checksum}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
