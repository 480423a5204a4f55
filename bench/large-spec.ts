/**
 * A large API: a synthetic OpenAPI document of 608 endpoints (32 resources with
 * sub-resources and actions, bench/lib/synthetic-spec.ts) is uploaded with POST /specs
 * before the run, then every request predicts against it with a unique prompt.
 *
 *   npm run bench:large-spec [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate N]
 *
 * Targets: the uncached ML-path numbers (DESIGN.md) — throughput at saturation, latency at
 * 1,000 req/s offered — plus the common checks.
 */
import { runHttpScenario, runScenario } from './lib/harness';
import { LATENCY_PHASE_RATE } from './lib/targets';
import { buildLargeSpec, largeSpecPrompt } from './lib/synthetic-spec';
import { codeWords } from './lib/workload';

const SPEC_ID = 'bench-large';
const spec = buildLargeSpec();

runScenario('large-spec', `A unique prompt per POST /predict against an uploaded synthetic spec of ${spec.endpointCount} endpoints.`, (args) =>
  runHttpScenario(args, {
    latencyRate: LATENCY_PHASE_RATE['large-spec'],
    prepare: async (server) => {
      const started = performance.now();
      const res = await fetch(`${server.url}/specs?spec_id=${SPEC_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spec.doc),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST /specs answered ${res.status}: ${text.slice(0, 500)}`);
      const summary = JSON.parse(text) as { endpoints?: number };
      if (summary.endpoints !== spec.endpointCount) throw new Error(`the server parsed ${summary.endpoints} endpoints, the document has ${spec.endpointCount}`);
      return [`uploaded ${spec.endpointCount} endpoints in ${Math.round(performance.now() - started)} ms (${Math.round(Buffer.byteLength(JSON.stringify(spec.doc)) / 1024)} KB JSON)`];
    },
    body: (n) => ({ prompt: largeSpecPrompt(spec.resources, n, `ref ${codeWords(n)}`), spec_id: SPEC_ID, max_predictions: 5 }),
  }),
);
