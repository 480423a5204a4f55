/**
 * Scenario reports: the machine, the settings, the metrics and each target check, as
 * bench/results/<scenario>.json plus a short markdown table (.md, also printed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadMetrics, ResponseSample } from './load';
import { summarize, type LatencySummary } from './stats';
import type { Target } from './targets';

export const RESULTS_DIR = path.resolve(__dirname, '..', 'results');

export interface Machine {
  cpu_model: string;
  cores: number;
  node: string;
  platform: string;
  total_mem_mb: number;
  /** 1, 5 and 15 minute load averages when the scenario started (other work on the box). */
  loadavg_start: number[];
}

export function describeMachine(): Machine {
  return {
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    total_mem_mb: Math.round(os.totalmem() / 2 ** 20),
    loadavg_start: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** A load scenario's metrics: its phases plus what the server process and the sampled bodies tell. */
export interface ScenarioMetrics {
  /** Closed-loop connections at saturation (req/s is checked here). */
  throughput_phase: LoadMetrics & { cpu?: unknown };
  /** Offered load below capacity (latency percentiles are checked here), when the scenario has one. */
  latency_phase?: LoadMetrics & { cpu?: unknown };
  /** Both phases. */
  errors_total: number;
  latency_max: number;
  /** Single-phase reports of older runs / comparisons may still carry these. */
  latency?: LoadMetrics['latency'];
  latency_autocannon?: LoadMetrics['latency_autocannon'];
  startup_ms: number;
  /** Highest VmRSS of the server seen every 200 ms, MB. */
  rss_peak_mb: number;
  /** VmHWM of the server at the end (lifetime peak incl. start-up), MB. */
  rss_hwm_mb: number;
  /** metadata.performance_metrics.ml_scoring_latency_ms of the sampled responses. */
  ml_scoring: LatencySummary;
  /** processing_time_ms (server-side total) of the sampled responses. */
  processing_ms: LatencySummary;
  samples: number;
}

export interface CheckResult {
  metric: string;
  op: Target['op'];
  target: number;
  unit: string;
  actual: number | null;
  pass: boolean;
  source: string;
}

export interface ScenarioReport {
  scenario: string;
  description: string;
  date: string;
  machine: Machine;
  settings: Record<string, unknown>;
  /** ScenarioMetrics for single-load scenarios; comparisons may report a subset. */
  metrics: Record<string, unknown>;
  checks: CheckResult[];
  pass: boolean;
  /** Observations and caveats (e.g. a missing endpoint). */
  notes: string[];
  /** Scenario-specific figures (ratios, sub-runs). */
  extra?: Record<string, unknown>;
}

export function sampleSummaries(samples: ResponseSample[]): Pick<ScenarioMetrics, 'ml_scoring' | 'processing_ms' | 'samples'> {
  const ml = samples.flatMap((s) => (s.mlScoringMs === undefined ? [] : [s.mlScoringMs]));
  const total = samples.flatMap((s) => (s.processingMs === undefined ? [] : [s.processingMs]));
  return { ml_scoring: summarize(ml), processing_ms: summarize(total), samples: samples.length };
}

/** Counts of a string field over the samples, e.g. error codes or LLM outcomes. */
export function countBy(samples: ResponseSample[], key: 'errorCode' | 'llmStatus' | 'llmReason'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const v = s[key];
    if (v !== undefined) out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

function lookup(obj: unknown, dotted: string): number | null {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

/** A metric that was not measured (null) fails its check: a target is never passed by omission. */
export function checkTargets(metrics: object, targets: readonly Target[]): CheckResult[] {
  return targets.map((t) => {
    const actual = lookup(metrics, t.metric);
    let pass = false;
    if (actual !== null) {
      if (t.op === '<=') pass = actual <= t.value;
      else if (t.op === '<') pass = actual < t.value;
      else if (t.op === '>=') pass = actual >= t.value;
      else pass = actual === t.value;
    }
    return { metric: t.metric, op: t.op, target: t.value, unit: t.unit, actual, pass, source: t.source };
  });
}

const fmt = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : String(Math.round(v * 10 ** digits) / 10 ** digits));

export function toMarkdown(r: ScenarioReport): string {
  const m = r.machine;
  const lines = [
    `### ${r.scenario} — ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    r.description,
    '',
    `${r.date} · ${m.cpu_model}, ${m.cores} cores, node ${m.node}, load average at start ${m.loadavg_start.join(' / ')} · ${Object.entries(r.settings)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '| metric | actual | target | |',
    '|---|---:|---:|---|',
    ...r.checks.map((c) => `| ${c.metric} | ${fmt(c.actual)} | ${c.op} ${c.target} ${c.unit} | ${c.pass ? 'ok' : '**MISSED**'} |`),
  ];
  const mx = r.metrics as Partial<ScenarioMetrics> & Record<string, unknown>;
  const phases = (['throughput_phase', 'latency_phase'] as const).filter((k) => mx[k] && typeof mx[k] === 'object');
  if (phases.length) {
    lines.push('', '| phase | load | req/s | p50 ms | p97.5 ms | p99 ms | max ms | errors | main CPU ms/req | other CPU ms/req |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const k of phases) {
      const p = mx[k] as Record<string, any>;
      const load = k === 'latency_phase' ? `${p.offered_rate} req/s offered (achieved ${fmt(p.achieved_ratio, 3)})` : `${p.connections} connections, closed loop (saturation)`;
      const l = p.latency ?? {};
      lines.push(
        `| ${k === 'latency_phase' ? 'latency' : 'throughput'} | ${load} | ${fmt(p.requests?.average, 0)} | ${fmt(l.p50, 3)} | ${fmt(l.p97_5, 3)} | ${fmt(l.p99, 3)} | ${fmt(l.max, 1)} | ${fmt(p.errors_total, 0)} | ${fmt(p.cpu?.server_main_ms_per_req, 3)} | ${fmt(p.cpu?.server_other_ms_per_req, 3)} |`,
      );
    }
    lines.push(
      '',
      'Throughput-phase latencies are mostly queueing at saturation (reported, not checked); latency targets are checked on the latency phase. Latencies are exact per response; CPU is per response of the server main thread / its other threads (workers, V8 and libuv helpers).',
    );
  }
  const lat = mx.latency;
  if (lat && typeof lat.p50 === 'number') {
    lines.push('', `latency ms (exact): p50 ${fmt(lat.p50, 3)} · p97_5 ${fmt(lat.p97_5, 3)} · p99 ${fmt(lat.p99, 3)} · max ${fmt(lat.max, 3)} · avg ${fmt(lat.average, 3)} over ${lat.count} responses`);
  }
  const ac = mx.latency_autocannon;
  if (ac) lines.push(`latency ms (autocannon, whole ms): p50 ${ac.p50} · p97_5 ${ac.p97_5} · p99 ${ac.p99} · max ${ac.max}`);
  if (mx.ml_scoring) {
    const ml = mx.ml_scoring;
    lines.push(`sampled ml_scoring_latency_ms: p50 ${fmt(ml.p50, 3)} · p99 ${fmt(ml.p99, 3)} · max ${fmt(ml.max, 3)} (${ml.count} samples)`);
  }
  const cpu = r.metrics.cpu as Record<string, number> | undefined;
  if (cpu) {
    lines.push(
      `CPU per response: server main thread ${fmt(cpu.server_main_ms_per_req, 3)} ms, other server threads ${fmt(cpu.server_other_ms_per_req, 3)} ms, load generator ${fmt(cpu.loadgen_ms_per_req, 3)} ms · cores busy: ${fmt(cpu.server_main_cores)} / ${fmt(cpu.server_other_cores)} / ${fmt(cpu.loadgen_cores)}`,
    );
  }
  for (const n of r.notes) lines.push(`- ${n}`);
  return lines.join('\n') + '\n';
}

/** Write bench/results/<scenario>.json and .md; returns the markdown. */
export function writeReport(r: ScenarioReport): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${r.scenario}.json`), JSON.stringify(r, null, 2) + '\n');
  const md = toMarkdown(r);
  fs.writeFileSync(path.join(RESULTS_DIR, `${r.scenario}.md`), md);
  return md;
}

export function readReport(scenario: string): ScenarioReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, `${scenario}.json`), 'utf8')) as ScenarioReport;
  } catch {
    return undefined;
  }
}
