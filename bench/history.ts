/**
 * The ML path with call history: unique prompts plus 3-5 concrete-path history entries
 * (`/projects/ab12/tasks/345`), which the worker resolves to endpoint templates and uses
 * for transition, workflow and parameter-chaining features.
 *
 *   npm run bench:history [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate N]
 *
 * Targets: the uncached ML-path numbers (DESIGN.md) — throughput at saturation, latency at
 * 1,000 req/s offered — plus the common checks.
 */
import { runHttpScenario, runScenario } from './lib/harness';
import { LATENCY_PHASE_RATE } from './lib/targets';
import { saasHistory, uniquePrompt } from './lib/workload';

runScenario('history', 'A unique prompt with 3-5 concrete-path history entries per POST /predict.', (args) =>
  runHttpScenario(args, {
    latencyRate: LATENCY_PHASE_RATE['history'],
    body: (n) => ({ prompt: uniquePrompt(n), history: saasHistory(n), max_predictions: 3 }),
  }),
);
