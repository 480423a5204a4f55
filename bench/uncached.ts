/**
 * The ML path without an LLM, uncached: a distinct prompt on every request, so every
 * request goes through the worker pool (embed, retrieve, features, WASM ranking).
 *
 *   npm run bench:uncached [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate N]
 *
 * Targets: >= 2,000 req/s in the throughput phase (saturation), p50 <= 5 ms and p99 <= 25 ms
 * in the latency phase at 1,000 req/s offered (DESIGN.md), plus the common checks.
 */
import { runHttpScenario, runScenario } from './lib/harness';
import { LATENCY_PHASE_RATE } from './lib/targets';
import { uniquePrompt } from './lib/workload';

runScenario('uncached', 'A unique prompt per POST /predict (no history): prediction and embedding caches miss.', (args) =>
  runHttpScenario(args, {
    latencyRate: LATENCY_PHASE_RATE['uncached'],
    body: (n) => ({ prompt: uniquePrompt(n), max_predictions: 3 }),
    summarize: (samples) => {
      const hits = samples.filter((s) => s.cacheHit === true).length;
      return { notes: hits ? [`${hits} sampled responses were cache hits: prompts are not unique`] : [] };
    },
  }),
);
