/**
 * CPU per request of each thread of the server under test, from
 * /proc/<pid>/task/<tid>/stat around the saturation phase (autocannon, closed loop) of
 * the uncached or the large-spec workload. Thread CPU per request is a figure a busy
 * machine disturbs much less than req/s. The worker's share of the phase's wall time is
 * split three ways from /proc/.../schedstat: running, runnable but waiting for a core
 * (another process had it: the machine is shared), and idle — waiting for work, which
 * under saturation is the pool's hand-off. Threads are all named "node": the main thread
 * is the pid, the busiest other one is taken as the worker (pool size 1); the rest are
 * V8 and libuv helpers.
 *
 *   npx ts-node --transpile-only bench/thread-cpu.ts [--workload uncached|large-spec] [--script <checkout>/dist/server/main.js] [--duration 10] [--connections 32]
 */
import fs from 'node:fs';
import { runHttpLoad } from './lib/load';
import { startServerProcess } from './lib/server-process';
import { buildLargeSpec, largeSpecPrompt } from './lib/synthetic-spec';
import { codeWords, uniquePrompt } from './lib/workload';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const WORKLOAD = flag('workload') ?? 'large-spec';
const DURATION_S = Number(flag('duration') ?? 10);
const CONNECTIONS = Number(flag('connections') ?? 32);

function threadMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10); // USER_HZ = 100
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Nanoseconds on a CPU and waiting on a run queue, per thread (/proc/<pid>/task/<tid>/schedstat). */
function schedNs(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, { run: run!, wait: wait! });
    } catch {
      // the thread ended
    }
  }
  return out;
}

async function main(): Promise<void> {
  const spec = buildLargeSpec();
  const body =
    WORKLOAD === 'uncached'
      ? (n: number) => ({ prompt: uniquePrompt(n), max_predictions: 3 })
      : (n: number) => ({ prompt: largeSpecPrompt(spec.resources, n, `ref ${codeWords(n)}`), spec_id: 'bench-large', max_predictions: 5 });
  const server = await startServerProcess({ env: { OPENSESAME_POOL_SIZE: '1' }, script: flag('script') });
  try {
    if (WORKLOAD !== 'uncached') {
      const up = await fetch(`${server.url}/specs?spec_id=bench-large`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec.doc) });
      if (up.status !== 201) throw new Error(`upload: ${up.status}`);
    }
    let before = new Map<string, number>();
    let schedBefore = new Map<string, { run: number; wait: number }>();
    let schedAfter = schedBefore;
    let t0 = 0;
    let usage: { tid: string; ms: number }[] = [];
    let wallMs = 0;
    const { metrics } = await runHttpLoad({
      url: server.url,
      body,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      warmupS: 3,
      onMeasure: (edge) => {
        if (edge === 'start') {
          before = threadMs(server.pid);
          schedBefore = schedNs(server.pid);
          t0 = performance.now();
          return;
        }
        wallMs = performance.now() - t0;
        schedAfter = schedNs(server.pid);
        usage = [...threadMs(server.pid)].map(([tid, ms]) => ({ tid, ms: ms - (before.get(tid) ?? 0) })).sort((a, b) => b.ms - a.ms);
      },
    });
    const n = metrics.requests.total;
    const main = usage.find((u) => u.tid === String(server.pid))!;
    const others = usage.filter((u) => u !== main);
    const worker = others[0]!;
    const helpers = others.slice(1).reduce((s, u) => s + u.ms, 0);
    const a = schedAfter.get(worker.tid)!;
    const b = schedBefore.get(worker.tid) ?? { run: 0, wait: 0 };
    const pct = (ns: number) => ((ns / 1e6 / wallMs) * 100).toFixed(0);
    const running = a.run - b.run;
    const waiting = a.wait - b.wait;
    process.stdout.write(
      `${WORKLOAD}: ${Math.round((n / wallMs) * 1000)} req/s, ${metrics.errors_total} errors; CPU ms/req main ${(main.ms / n).toFixed(3)}, worker ${(worker.ms / n).toFixed(3)}, helpers ${(helpers / n).toFixed(3)}; ` +
        `worker running ${pct(running)} %, waiting for a core ${pct(waiting)} %, idle ${pct(wallMs * 1e6 - running - waiting)} %\n`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
