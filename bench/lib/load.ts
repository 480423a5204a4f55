/**
 * The HTTP load phases: autocannon's programmatic API with fixed flags (pipelining 1,
 * 10 s timeout), an uncounted warm-up run first, then two measured runs:
 *
 *  - throughput: `connections` closed-loop connections as fast as the server answers
 *    (saturation). Its req/s is the capacity; its latencies are mostly queueing (Little's
 *    law: mean latency ~ connections / throughput), so they are reported, not judged.
 *  - latency: an open-loop load at a fixed offered rate below capacity (paced-load.ts:
 *    request i is due at i / rate, latency runs from the due time; not autocannon, whose
 *    rate limit sends each second's quota as a burst). Its percentiles are the service
 *    latencies the latency targets are about. Skipped when no rate is given.
 *
 * Each request body comes from a factory of a global request number, so "unique prompt
 * per request" holds across connections and across phase boundaries.
 *
 * Every response time is recorded exactly (stats.ts); 1 in `sampleEvery` 2xx bodies —
 * and every non-2xx body, up to a cap — is parsed for the server's own timings
 * (metadata.performance_metrics), which parsing every body would make the load generator
 * pay for on the shared cores.
 */
import autocannon from 'autocannon';
import { runPacedLoad } from './paced-load';
import { LatencyRecorder, type LatencySummary } from './stats';

export interface HttpLoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000. */
  url: string;
  /** Request path. Default /predict. */
  path?: string;
  /** Body of request number n (JSON-encoded unless a string). */
  body: (n: number) => unknown;
  /** Extra request headers. */
  headers?: Record<string, string>;
  connections: number;
  /** Seconds of each measured phase. */
  durationS: number;
  warmupS: number;
  /** Offered load of the latency phase, req/s over all connections; undefined: no latency phase. */
  latencyRate?: number;
  /** Parse one in this many 2xx bodies. Default 50. */
  sampleEvery?: number;
  /** Called right before and right after each measured phase (CPU accounting). */
  onMeasure?: (edge: 'start' | 'end', phase: LoadPhase) => void;
}

export type LoadPhase = 'throughput' | 'latency';

/** What one parsed response said about itself. */
export interface ResponseSample {
  status: number;
  mlScoringMs?: number;
  processingMs?: number;
  cacheHit?: boolean;
  /** cost_aware_routing.status: ok | deadline | error | ... when an LLM is configured. */
  llmStatus?: string;
  /** cost_aware_routing.reason of a non-ok LLM outcome. */
  llmReason?: string;
  llmLatencyMs?: number;
  predictions?: number;
  /** error.code of a non-2xx body. */
  errorCode?: string;
}

export interface LoadMetrics {
  phase: LoadPhase;
  /** Latency phase only: the offered load in req/s, and achieved / offered (1 = kept up). */
  offered_rate?: number;
  achieved_ratio?: number;
  /** Responses per second (autocannon's per-second mean), total responses, requests sent. */
  requests: { average: number; total: number; sent: number };
  /** Exact per-response latency, ms. */
  latency: LatencySummary;
  /** autocannon's own histogram (whole ms, floored), for comparison with other autocannon reports (autocannon phases only). */
  latency_autocannon?: { p50: number; p97_5: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  /** errors (autocannon counts timeouts among them) + non2xx: the "error rate 0" target. */
  errors_total: number;
  status_codes: Record<string, number>;
  duration_s: number;
  connections: number;
  pipelining: number;
}

export interface HttpLoadResult {
  /** The saturation phase. */
  metrics: LoadMetrics;
  /** The phase at the offered load, when latencyRate was given. */
  latency?: LoadMetrics;
  /** Sampled bodies of both measured phases. */
  samples: ResponseSample[];
}

const MAX_ERROR_SAMPLES = 20;

export function parseSample(status: number, text: string): ResponseSample {
  const s: ResponseSample = { status };
  try {
    const j = JSON.parse(text) as Record<string, any>;
    if (status >= 200 && status < 300) {
      const perf = j.metadata?.performance_metrics ?? {};
      if (typeof perf.ml_scoring_latency_ms === 'number') s.mlScoringMs = perf.ml_scoring_latency_ms;
      if (typeof perf.llm_latency_ms === 'number') s.llmLatencyMs = perf.llm_latency_ms;
      if (typeof perf.cache_hit === 'boolean') s.cacheHit = perf.cache_hit;
      if (typeof j.processing_time_ms === 'number') s.processingMs = j.processing_time_ms;
      const routing = j.metadata?.cost_aware_routing;
      if (typeof routing?.status === 'string') s.llmStatus = routing.status;
      if (typeof routing?.reason === 'string' && routing.status !== 'ok') s.llmReason = routing.reason;
      if (Array.isArray(j.predictions)) s.predictions = j.predictions.length;
    } else if (typeof j.error?.code === 'string') {
      s.errorCode = j.error.code;
    }
  } catch {
    s.errorCode = 'UNPARSEABLE_BODY';
  }
  return s;
}

function once(opts: autocannon.Options, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    if (onLatency) inst.on('response', (_client, _status, _bytes, ms) => onLatency(ms));
  });
}

/** Pause between the phases, so the second does not start on the first one's backlog (GC, cache writes). */
const PHASE_GAP_MS = 1000;

/** Warm-up (not counted), then the throughput phase, then the latency phase (when a rate is given). */
export async function runHttpLoad(o: HttpLoadOptions): Promise<HttpLoadResult> {
  let n = 0;
  let measuring = false;
  let seen = 0;
  let errorSamples = 0;
  const sampleEvery = o.sampleEvery ?? 50;
  const samples: ResponseSample[] = [];
  const request: autocannon.Request = {
    method: 'POST',
    path: o.path ?? '/predict',
    headers: { 'content-type': 'application/json', ...o.headers },
    setupRequest: (req) => {
      const body = o.body(n++);
      return { ...req, body: typeof body === 'string' ? body : JSON.stringify(body) };
    },
    onResponse: (status, text) => {
      if (!measuring) return;
      const ok = status >= 200 && status < 300;
      if (ok ? seen++ % sampleEvery === 0 : errorSamples++ < MAX_ERROR_SAMPLES) samples.push(parseSample(status, text));
    },
  };
  const base: autocannon.Options = {
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    timeout: 10,
    requests: [request],
  };
  const measure = async (phase: LoadPhase): Promise<LoadMetrics> => {
    measuring = true;
    const rec = new LatencyRecorder();
    o.onMeasure?.('start', phase);
    const r = await once({ ...base, duration: o.durationS }, (ms) => rec.record(ms));
    o.onMeasure?.('end', phase);
    measuring = false;
    const status_codes: Record<string, number> = {};
    for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) status_codes[code] = v.count ?? 0;
    return {
      phase,
      requests: { average: r.requests.average, total: r.requests.total, sent: r.requests.sent },
      latency: rec.summary(),
      latency_autocannon: { p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99, average: r.latency.average, max: r.latency.max },
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      errors_total: r.errors + r.non2xx,
      status_codes,
      duration_s: r.duration,
      connections: r.connections,
      pipelining: r.pipelining,
    };
  };
  if (o.warmupS > 0) await once({ ...base, duration: o.warmupS });
  const metrics = await measure('throughput');
  let latency: LoadMetrics | undefined;
  if (o.latencyRate !== undefined) {
    await new Promise((r) => setTimeout(r, PHASE_GAP_MS));
    measuring = true;
    o.onMeasure?.('start', 'latency');
    latency = await runPacedLoad({
      url: o.url,
      path: request.path!,
      headers: request.headers as Record<string, string>,
      body: () => o.body(n++),
      rate: o.latencyRate,
      durationS: o.durationS,
      connections: o.connections,
      onResponse: request.onResponse as (status: number, text: string) => void,
    });
    o.onMeasure?.('end', 'latency');
    measuring = false;
  }
  return { metrics, latency, samples };
}
