/**
 * Every load scenario in sequence, each in its own process (one server at a time on the
 * shared cores), then one summary table from bench/results/*.json. Exits non-zero when
 * any scenario missed a target or failed to run.
 *
 *   npm run bench [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate N]
 *
 * Flags are passed to every scenario (bench/lib/args.ts); results land in bench/results/
 * (summary.md and summary.json beside the per-scenario files).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ArgsError, parseArgs, toArgv } from './lib/args';
import { describeMachine, readReport, RESULTS_DIR, type ScenarioReport } from './lib/report';
import { ROOT } from './lib/server-process';

export const SCENARIOS = ['cached', 'uncached', 'history', 'large-spec', 'llm', 'ws', 'http-vs-uws'] as const;

function num(v: unknown, digits = 2): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.round(v * 10 ** digits) / 10 ** digits) : '–';
}

/**
 * One summary row: req/s from the throughput phase (saturation); p50/p99 from the latency
 * phase at its offered load, or — for a scenario without one (llm, http-vs-uws) — from
 * its closed-loop phase, marked "(closed loop)".
 */
function row(name: string, r: ScenarioReport | undefined, exitCode: number | null): string {
  if (!r) return `| ${name} | – | – | – | – | – | – | – | – | no report (exit ${exitCode}) |`;
  const m = r.metrics as Record<string, any>;
  const missed = r.checks.filter((c) => !c.pass).map((c) => c.metric);
  const verdict = r.pass ? 'PASS' : `**FAIL**${missed.length ? ` (${missed.join(', ')})` : r.notes[0] ? ` (${r.notes[0].slice(0, 80)})` : ''}`;
  const tp = m.throughput_phase;
  const lp = m.latency_phase ?? tp;
  const load = m.latency_phase ? `${num(m.latency_phase.offered_rate, 0)} offered` : tp ? 'closed loop' : '–';
  return `| ${name} | ${num(tp?.requests?.average, 0)} | ${load} | ${num(lp?.latency?.p50, 3)} | ${num(lp?.latency?.p99, 3)} | ${num(m.latency_max, 1)} | ${num(m.errors_total, 0)} | ${num(m.rss_peak_mb, 0)} | ${num(m.startup_ms, 0)} | ${verdict} |`;
}

function main(): number {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const machine = describeMachine();
  const rows: string[] = [];
  const summary: { scenario: string; pass: boolean; exit_code: number | null }[] = [];
  for (const name of SCENARIOS) {
    process.stdout.write(`\n=== ${name} ===\n`);
    // A stale report of an earlier run must not stand in for this one.
    fs.rmSync(path.join(RESULTS_DIR, `${name}.json`), { force: true });
    const res = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'bench', `${name}.ts`), ...toArgv(args)], { cwd: ROOT, stdio: 'inherit' });
    const report = readReport(name);
    rows.push(row(name, report, res.status));
    summary.push({ scenario: name, pass: res.status === 0 && report?.pass === true, exit_code: res.status });
  }
  const md = [
    `## Load benchmarks — ${new Date().toISOString()}`,
    '',
    `${machine.cpu_model}, ${machine.cores} cores, node ${machine.node}; load average at start ${machine.loadavg_start.join(' / ')}; duration ${args.durationS} s, warm-up ${args.warmupS} s${args.poolSize ? `, pool size ${args.poolSize}` : ''}${args.rate ? `, latency-phase rate ${args.rate} req/s` : ''}`,
    '',
    'req/s: throughput phase (closed loop at saturation). p50/p99: latency phase at the stated offered load (req/s), or the closed-loop phase where a scenario has no latency phase. max and errors: both phases.',
    '',
    '| scenario | req/s (throughput phase) | latency-phase load | p50 ms | p99 ms | max ms | errors | RSS MB | start-up ms | result |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'summary.md'), md);
  fs.writeFileSync(path.join(RESULTS_DIR, 'summary.json'), JSON.stringify({ machine, args, scenarios: summary }, null, 2) + '\n');
  process.stdout.write(`\n${md}`);
  return summary.every((s) => s.pass) ? 0 : 1;
}

process.exitCode = main();
