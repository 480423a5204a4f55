/**
 * Prometheus metrics (prom-client), one registry per server instance so tests running
 * several servers in one process don't share counters.
 */
import client from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2.5, 5];

export function createMetrics() {
  const registry = new client.Registry();
  // prom-client's names already start with process_ / nodejs_: opensesame_process_resident_memory_bytes.
  client.collectDefaultMetrics({ register: registry, prefix: 'opensesame_' });
  const m = {
    registry,
    requests: new client.Counter({ name: 'opensesame_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'], registers: [registry] }),
    requestSeconds: new client.Histogram({ name: 'opensesame_request_duration_seconds', help: 'End-to-end request latency', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    mlSeconds: new client.Histogram({ name: 'opensesame_ml_scoring_duration_seconds', help: 'Worker pipeline time (resolve, embed, features, WASM scoring)', buckets: LATENCY_BUCKETS, registers: [registry] }),
    llmSeconds: new client.Histogram({ name: 'opensesame_llm_duration_seconds', help: 'LLM call latency', labelNames: ['provider', 'outcome'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    cache: new client.Counter({ name: 'opensesame_cache_requests_total', help: 'Cache lookups by cache and result', labelNames: ['cache', 'result'], registers: [registry] }),
    guardrailBlocks: new client.Counter({ name: 'opensesame_guardrail_blocks_total', help: 'Requests refused by input guardrails, by rule', labelNames: ['rule'], registers: [registry] }),
    rateLimited: new client.Counter({ name: 'opensesame_rate_limited_total', help: 'Requests refused by the per-user rate limit', registers: [registry] }),
    llmCalls: new client.Counter({ name: 'opensesame_llm_calls_total', help: 'LLM calls by provider and outcome', labelNames: ['provider', 'outcome'], registers: [registry] }),
    llmMisses: new client.Counter({ name: 'opensesame_llm_deadline_misses_total', help: 'LLM answers that missed the deadline', registers: [registry] }),
    llmCostUsd: new client.Counter({ name: 'opensesame_llm_cost_usd_total', help: 'LLM spend recorded from response usage', labelNames: ['provider', 'tier'], registers: [registry] }),
    poolQueue: new client.Gauge({ name: 'opensesame_pool_queue_depth', help: 'Tasks waiting for a worker', registers: [registry] }),
    poolUtilization: new client.Gauge({ name: 'opensesame_pool_utilization', help: 'Share of worker time spent running tasks', registers: [registry] }),
    poolThreads: new client.Gauge({ name: 'opensesame_pool_threads', help: 'Worker threads alive', registers: [registry] }),
    poolFailures: new client.Gauge({ name: 'opensesame_pool_failures', help: 'Tasks failed by a crashed or throwing worker (cumulative)', registers: [registry] }),
    predictions: new client.Counter({ name: 'opensesame_predictions_total', help: 'Predictions served by processing method', labelNames: ['method'], registers: [registry] }),
  };
  return m;
}
