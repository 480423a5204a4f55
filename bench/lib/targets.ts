/**
 * The performance targets the load benchmarks hold, in one table. Numbers come from
 * /work/shared/DESIGN.md, section "Performance targets (checked by bench/, not by timed
 * unit tests)", plus the seed's per-request limits (ML scoring < 100 ms, total < 800 ms)
 * that every scenario checks.
 *
 * `metric` is a dotted path into a scenario's metrics object (see report.ts
 * ScenarioMetrics): `latency.*` are exact per-response times in ms measured by the load
 * generator (autocannon's own histogram floors to whole ms, so it is reported beside them
 * but not checked), `requests.average` is responses per second.
 */

export type Op = '<=' | '<' | '>=' | '==';

export interface Target {
  /** Dotted path into the scenario's metrics. */
  metric: string;
  op: Op;
  value: number;
  unit: string;
  /** Where the number comes from. */
  source: string;
}

const PERF = 'DESIGN.md: Performance targets';
const SEED = 'seed per-request limits';

/** Checked by every scenario. */
export const COMMON_TARGETS: readonly Target[] = [
  { metric: 'errors_total', op: '==', value: 0, unit: 'responses', source: `${PERF} (error rate 0; errors + timeouts + non-2xx)` },
  { metric: 'ml_scoring.max', op: '<', value: 100, unit: 'ms', source: `${SEED} (ML scoring, sampled responses)` },
  { metric: 'latency.max', op: '<', value: 800, unit: 'ms', source: `${SEED} (total)` },
  { metric: 'startup_ms', op: '<', value: 3000, unit: 'ms', source: `${PERF} (start-up to ready)` },
  { metric: 'rss_peak_mb', op: '<', value: 512, unit: 'MB', source: `${PERF} (resident memory at load)` },
];

/** The ML path without an LLM, uncached: DESIGN.md's latency and throughput on 2 cores. */
const ML_UNCACHED: readonly Target[] = [
  { metric: 'latency.p50', op: '<=', value: 5, unit: 'ms', source: `${PERF} (ML path uncached p50)` },
  { metric: 'latency.p99', op: '<=', value: 25, unit: 'ms', source: `${PERF} (ML path uncached p99)` },
  { metric: 'requests.average', op: '>=', value: 2000, unit: 'req/s', source: `${PERF} (uncached throughput)` },
];

/** LLM stand-in answering in 400 ms, OPENSESAME_LLM_DEADLINE_MS = 600. */
export const LLM_DEADLINE_MS = 600;
export const LLM_STANDIN_DELAY_MS = 400;

export const SCENARIO_TARGETS: Readonly<Record<string, readonly Target[]>> = {
  cached: [
    { metric: 'latency.p50', op: '<=', value: 1, unit: 'ms', source: `${PERF} (cache hit p50)` },
    { metric: 'requests.average', op: '>=', value: 15000, unit: 'req/s', source: `${PERF} (cached throughput)` },
  ],
  uncached: ML_UNCACHED,
  history: ML_UNCACHED,
  'large-spec': ML_UNCACHED,
  llm: [
    { metric: 'latency.p50', op: '<=', value: 500, unit: 'ms', source: `${PERF} (LLM answering in 400 ms: p50 total)` },
    { metric: 'latency.max', op: '<=', value: LLM_DEADLINE_MS + 25, unit: 'ms', source: `${PERF} (never above the LLM deadline + 25 ms)` },
    // Without it the two above pass vacuously when the breaker is open and the LLM skipped.
    { metric: 'llm_ok_ratio', op: '>=', value: 0.9, unit: 'of sampled', source: 'scenario validity: answers refined by the LLM' },
  ],
  // Per-message latency to the "final" reply; the same ML-path numbers as HTTP.
  ws: ML_UNCACHED,
  // A comparison: only the common checks apply; the ratios are reported.
  'http-vs-uws': [],
};

/** The scenario's own targets followed by the common ones. */
export function targetsFor(scenario: string): Target[] {
  return [...(SCENARIO_TARGETS[scenario] ?? []), ...COMMON_TARGETS];
}
