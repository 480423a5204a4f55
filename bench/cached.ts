/**
 * Cache hits: the same body on every request, so after the first one (during the
 * warm-up) each answer comes from the LMDB prediction cache on the main thread.
 *
 *   npm run bench:cached [-- --duration 10 --warmup 3 --connections 32 --pool-size 2]
 *
 * Targets: p50 <= 1 ms, >= 15,000 req/s (DESIGN.md), plus the common checks.
 */
import { runHttpScenario, runScenario } from './lib/harness';

const BODY = JSON.stringify({ prompt: 'create a new user account', max_predictions: 3 });

runScenario('cached', 'The same POST /predict body repeated: prediction-cache hits on the main thread.', (args) =>
  runHttpScenario(args, {
    body: () => BODY,
    summarize: (samples) => {
      const hits = samples.filter((s) => s.cacheHit === true).length;
      return { notes: [`cache hits among sampled responses: ${hits}/${samples.length}`], extra: { sampled_cache_hits: hits } };
    },
  }),
);
