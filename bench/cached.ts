/**
 * Cache hits: the same body on every request, so after the first one (during the
 * warm-up) each answer comes from the LMDB prediction cache on the main thread.
 *
 *   npm run bench:cached [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate N]
 *
 * Targets: >= 15,000 req/s in the throughput phase (saturation), p50 <= 1 ms in the latency
 * phase at 7,500 req/s offered (DESIGN.md), plus the common checks.
 */
import { runHttpScenario, runScenario } from './lib/harness';
import { LATENCY_PHASE_RATE } from './lib/targets';

const BODY = JSON.stringify({ prompt: 'create a new user account', max_predictions: 3 });

runScenario('cached', 'The same POST /predict body repeated: prediction-cache hits on the main thread.', (args) =>
  runHttpScenario(args, {
    latencyRate: LATENCY_PHASE_RATE['cached'],
    body: () => BODY,
    summarize: (samples) => {
      const hits = samples.filter((s) => s.cacheHit === true).length;
      return { notes: [`cache hits among sampled responses: ${hits}/${samples.length}`], extra: { sampled_cache_hits: hits } };
    },
  }),
);
