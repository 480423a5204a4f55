/**
 * CPU per request of each thread of the server under test (pool of one worker), from
 * /proc/<pid>/task/<tid>/stat around a fixed number of large-spec predictions sent by
 * `--concurrency` closed-loop clients: thread CPU per request is a figure a busy machine
 * disturbs much less than req/s. Threads are all named "node": the main thread is the
 * pid, the busiest other one is the worker; the rest are V8/libuv helpers.
 *
 *   npx ts-node --transpile-only bench/thread-cpu.ts [--script <other checkout>/dist/server/main.js] [--count 6000] [--concurrency 16]
 */
import fs from 'node:fs';
import { startServerProcess } from './lib/server-process';
import { buildLargeSpec, largeSpecPrompt } from './lib/synthetic-spec';
import { codeWords } from './lib/workload';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const COUNT = Number(flag('count') ?? 6000);
const CONCURRENCY = Number(flag('concurrency') ?? 16);

function threadMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10); // 100 ticks per second
    } catch {
      // thread ended
    }
  }
  return out;
}

async function main(): Promise<void> {
  const spec = buildLargeSpec();
  const server = await startServerProcess({ env: { OPENSESAME_POOL_SIZE: '1' }, script: flag('script') });
  try {
    const up = await fetch(`${server.url}/specs?spec_id=bench-large`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec.doc) });
    if (up.status !== 201) throw new Error(`upload: ${up.status}`);
    let next = 0;
    const send = async (upTo: number) => {
      while (next < upTo) {
        const n = next++;
        const body = { prompt: largeSpecPrompt(spec.resources, n, `ref ${codeWords(n)}`), spec_id: 'bench-large', max_predictions: 5 };
        const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        await res.text();
        if (res.status !== 200) throw new Error(`predict: ${res.status}`);
      }
    };
    const phase = (upTo: number) => Promise.all(Array.from({ length: CONCURRENCY }, () => send(upTo)));
    await phase(2000); // warm-up
    const before = threadMs(server.pid);
    const t0 = performance.now();
    await phase(2000 + COUNT);
    const wall = performance.now() - t0;
    const after = threadMs(server.pid);
    const rows = [...after].map(([tid, ms]) => ({ tid, ms: (ms - (before.get(tid) ?? 0)) / COUNT })).sort((a, b) => b.ms - a.ms);
    const main = rows.find((r) => r.tid === String(server.pid))!;
    const others = rows.filter((r) => r !== main);
    const helpers = others.slice(1).reduce((s, r) => s + r.ms, 0);
    process.stdout.write(
      `${COUNT} requests, ${Math.round((COUNT / wall) * 1000)} req/s: CPU ms/req main ${main.ms.toFixed(3)}, worker ${others[0]!.ms.toFixed(3)} (busy ${(((others[0]!.ms * COUNT) / wall) * 100).toFixed(0)} % of wall), helpers ${helpers.toFixed(3)}\n`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
