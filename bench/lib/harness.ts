/**
 * The shared shape of a load scenario:
 *
 *   parse flags -> describe machine -> [start server child, wait /health, prepare]
 *     -> warm-up load (not counted) -> measured load -> stop server
 *     -> check targets (targets.ts) -> bench/results/<scenario>.json + .md -> exit code
 *
 * `runScenario` owns the report and the exit code (non-zero when a target is missed or
 * the run failed); `runHttpScenario` is the common HTTP body for autocannon scenarios.
 * Scenarios with their own load client (WebSocket, two front ends) build on
 * startServerProcess and the report helpers directly.
 */
import { parseArgs, ArgsError, type BenchArgs } from './args';
import { runHttpLoad, type ResponseSample } from './load';
import { checkTargets, describeMachine, sampleSummaries, writeReport, type ScenarioReport } from './report';
import { startServerProcess, type CpuSnapshot, type ServerProcess } from './server-process';
import { targetsFor } from './targets';

export { startServerProcess, type ServerProcess } from './server-process';

/** Default concurrent connections of a load run. */
export const DEFAULT_CONNECTIONS = 32;

export interface ScenarioOutcome {
  settings: Record<string, unknown>;
  metrics: ScenarioReport['metrics'];
  notes?: string[];
  extra?: Record<string, unknown>;
}

/** Settings every report lists. */
export function baseSettings(args: Readonly<BenchArgs>, connections: number, offeredRate?: number): Record<string, unknown> {
  return {
    duration_s: args.durationS,
    warmup_s: args.warmupS,
    connections,
    pipelining: 1,
    ...(offeredRate !== undefined ? { latency_phase_offered_rps: offeredRate } : {}),
    pool_size: args.poolSize ?? 'default (cores)',
  };
}

/** The offered load of a scenario's latency phase: --rate when given, else the scenario's default. */
export function offeredRate(args: Readonly<BenchArgs>, scenarioDefault: number | undefined): number | undefined {
  return args.rate ?? scenarioDefault;
}

/** Server env from the flags (pool size) plus the scenario's own. */
export function serverEnv(args: Readonly<BenchArgs>, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(args.poolSize !== undefined ? { OPENSESAME_POOL_SIZE: String(args.poolSize) } : {}), ...extra };
}

/**
 * Run a scenario body and report it. The process exit code is 1 when a target was missed
 * or the body failed (the failure is reported too), 2 on bad flags.
 */
export function runScenario(name: string, description: string, body: (args: Readonly<BenchArgs>) => Promise<ScenarioOutcome>): void {
  let args: Readonly<BenchArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const machine = describeMachine();
  const date = new Date().toISOString();
  const finish = (report: ScenarioReport) => {
    process.stdout.write(writeReport(report));
    process.exitCode = report.pass ? 0 : 1;
    // Whatever still holds the loop open (a stuck socket) must not keep a finished bench alive.
    setTimeout(() => process.exit(process.exitCode ?? 1), 5000).unref();
  };
  body(args).then(
    (out) => {
      const checks = checkTargets(out.metrics, targetsFor(name));
      finish({ scenario: name, description, date, machine, settings: out.settings, metrics: out.metrics, checks, pass: checks.every((c) => c.pass), notes: out.notes ?? [], extra: out.extra });
    },
    (err: unknown) => {
      finish({
        scenario: name, description, date, machine, settings: baseSettings(args, args.connections ?? DEFAULT_CONNECTIONS), metrics: {},
        checks: [], pass: false, notes: [`run failed: ${err instanceof Error ? err.message : String(err)}`],
      });
    },
  );
}

/** Where the CPU went during the measured phase, per response and as cores kept busy. */
export interface CpuMetrics {
  /** Server event loop (HTTP, validation, guardrails, LMDB, JSON, pool messaging). */
  server_main_ms_per_req: number;
  /** Server's other threads: the pool's workers (embedding, ranking) plus V8/libuv helpers. */
  server_other_ms_per_req: number;
  /** This process: the load generator. */
  loadgen_ms_per_req: number;
  server_main_cores: number;
  server_other_cores: number;
  loadgen_cores: number;
}

/** CPU accounting of the measured phase: call start() and end() around it. */
export function cpuMeter(server: Pick<ServerProcess, 'cpu'>): { start(): void; end(): void; result(responses: number): CpuMetrics } {
  let s0: CpuSnapshot | undefined;
  let s1: CpuSnapshot | undefined;
  let l0 = process.cpuUsage();
  let l1 = l0;
  let t0 = 0;
  let t1 = 0;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  return {
    start() {
      s0 = server.cpu();
      l0 = process.cpuUsage();
      t0 = performance.now();
    },
    end() {
      s1 = server.cpu();
      l1 = process.cpuUsage(l0);
      t1 = performance.now();
    },
    result(responses) {
      const n = Math.max(1, responses);
      const wall = Math.max(1, t1 - t0);
      const main = (s1?.mainMs ?? NaN) - (s0?.mainMs ?? NaN);
      const other = (s1?.otherMs ?? NaN) - (s0?.otherMs ?? NaN);
      const gen = (l1.user + l1.system) / 1000;
      return {
        server_main_ms_per_req: r3(main / n),
        server_other_ms_per_req: r3(other / n),
        loadgen_ms_per_req: r3(gen / n),
        server_main_cores: r3(main / wall),
        server_other_cores: r3(other / wall),
        loadgen_cores: r3(gen / wall),
      };
    },
  };
}

export interface HttpScenarioOptions {
  /** Connections when --connections is not given. Default 32. */
  connections?: number;
  /**
   * Offered load (req/s) of the latency phase, run after the throughput phase; --rate
   * overrides it. Undefined: the throughput phase only (its latencies are then the ones checked).
   */
  latencyRate?: number;
  /** Server environment added to the harness defaults. */
  env?: Record<string, string>;
  /** After the server is ready and before the load (e.g. upload a spec); may return notes. */
  prepare?: (server: ServerProcess) => Promise<string[] | void>;
  /** Body of request number n. */
  body: (n: number) => unknown;
  /** Parse one in this many 2xx bodies. */
  sampleEvery?: number;
  /** Scenario-specific figures from the samples. */
  summarize?: (samples: ResponseSample[]) => { notes?: string[]; extra?: Record<string, unknown> };
}

/** Server child + warm-up + throughput phase (+ latency phase) of autocannon against POST /predict. */
export async function runHttpScenario(args: Readonly<BenchArgs>, o: HttpScenarioOptions): Promise<ScenarioOutcome> {
  const connections = args.connections ?? o.connections ?? DEFAULT_CONNECTIONS;
  const rate = o.latencyRate === undefined ? undefined : offeredRate(args, o.latencyRate);
  const server = await startServerProcess({ env: serverEnv(args, o.env) });
  try {
    const notes = (await o.prepare?.(server)) ?? [];
    const meters = { throughput: cpuMeter(server), latency: cpuMeter(server) };
    const { metrics, latency, samples } = await runHttpLoad({
      onMeasure: (edge, phase) => (edge === 'start' ? meters[phase].start() : meters[phase].end()),
      url: server.url,
      body: o.body,
      connections,
      durationS: args.durationS,
      warmupS: args.warmupS,
      latencyRate: rate,
      sampleEvery: o.sampleEvery,
    });
    const more = o.summarize?.(samples) ?? {};
    const errors = samples.filter((s) => s.errorCode !== undefined);
    if (errors.length) notes.push(`non-2xx samples: ${errors.map((s) => `${s.status} ${s.errorCode}`).slice(0, 5).join(', ')}`);
    const throughputPhase = { ...metrics, cpu: meters.throughput.result(metrics.requests.total) };
    const latencyPhase = latency ? { ...latency, cpu: meters.latency.result(latency.requests.total) } : undefined;
    return {
      settings: baseSettings(args, connections, rate),
      metrics: {
        throughput_phase: throughputPhase,
        ...(latencyPhase ? { latency_phase: latencyPhase } : {}),
        // Over both measured phases: the "error rate 0" and "total < 800 ms" checks.
        errors_total: metrics.errors_total + (latency?.errors_total ?? 0),
        latency_max: Math.max(metrics.latency.max, latency?.latency.max ?? -Infinity),
        startup_ms: Math.round(server.startupMs),
        rss_peak_mb: Math.round(server.rssPeakMb() * 10) / 10,
        rss_hwm_mb: Math.round(server.rssHwmMb() * 10) / 10,
        ...sampleSummaries(samples),
      },
      notes: [...notes, ...(more.notes ?? [])],
      extra: more.extra,
    };
  } finally {
    await server.stop();
  }
}
