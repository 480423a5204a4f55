/**
 * What bounding the caches costs the main thread. A store in a temp dir is filled with
 * 56,000 real answers (test/fixtures/answer-helpdesk.json, each with its own request id)
 * and 56,000 prompt embeddings, closed and opened again, and each cache is trimmed to the
 * default 50,000 bound (down to 45,000) as enforceBounds does under a stream of unique
 * prompts. Opened on existing entries, a cache trims by a scan of every entry the first
 * time; then 11,000 more of each are written and trimmed again, now by the cache's expiry
 * index (store/expiry-index.ts), which reads only the entries it removes. Prints the
 * process CPU and wall ms of each trim, and the longest the event loop went without a
 * turn during them (a 1 ms interval measures it).
 *
 *   npx ts-node --transpile-only bench/cache-trim.ts [--entries 56000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../store';
import { packageRoot } from '../engine/package-root';

const argv = process.argv.slice(2);
const at = argv.indexOf('--entries');
const ENTRIES = at >= 0 ? Number(argv[at + 1]) : 56_000;
const BOUND = 50_000;

/** The longest the event loop goes without a turn from now until stop(), ms (a 1 ms interval). */
function gapProbe(): { stop(): number } {
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(timer);
      return longest;
    },
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-trim-bench-'));
  const answer = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'answer-helpdesk.json'), 'utf8')) as object;
  const fill = async (store: ReturnType<typeof openStore>, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      void store.predictions.put(`p${i}`, { ...answer, request_id: `r${i}` }, 3600);
      void store.embeddings.put(`e${i}`, new Float32Array(100).map((_, j) => Math.sin(i + j)), 3600);
      if (i % 2000 === 1999) await new Promise((r) => setTimeout(r, 30)); // let the writes commit
    }
    await new Promise((r) => setTimeout(r, 500));
  };
  const first = openStore({ path: dir, maxPredictionEntries: BOUND, maxEmbeddingEntries: BOUND });
  await fill(first, 0, ENTRIES);
  await first.close();
  const store = openStore({ path: dir, maxPredictionEntries: BOUND, maxEmbeddingEntries: BOUND });
  try {
    const timed = async (name: 'predictions' | 'embeddings', how: string) => {
      const size = store.stats()[name].size;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const removed = await (name === 'predictions' ? store.predictions.trimTo(BOUND) : store.embeddings.trimTo(BOUND));
      const c = process.cpuUsage(c0);
      process.stdout.write(`${name} (${how}): ${size} -> ${size - removed} entries, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, wall ${(performance.now() - t0).toFixed(0)} ms\n`);
    };
    let probe = gapProbe();
    await timed('predictions', 'scan');
    await timed('embeddings', 'scan');
    const gapScan = probe.stop();
    await fill(store, ENTRIES, ENTRIES + (ENTRIES - Math.floor(BOUND * 0.9)));
    probe = gapProbe();
    await timed('predictions', 'index');
    await timed('embeddings', 'index');
    const gapIndex = probe.stop();
    process.stdout.write(`longest event-loop gap: ${gapScan.toFixed(1)} ms during the scans, ${gapIndex.toFixed(1)} ms during the index trims (load average ${os.loadavg()[0]!.toFixed(2)})\n`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
