/**
 * What bounding the caches costs the main thread: a store in a temp dir is filled with
 * 56,000 real answers (test/fixtures/answer-helpdesk.json, each with its own request id)
 * and 56,000 prompt embeddings, then each cache is trimmed to the default 50,000 bound
 * (down to 45,000), as enforceBounds does under a stream of unique prompts. Prints the
 * process CPU and wall ms of each trim, and the longest the event loop went without a
 * turn meanwhile (a 1 ms interval measures it).
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

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-trim-bench-'));
  const answer = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'test', 'fixtures', 'answer-helpdesk.json'), 'utf8')) as object;
  const store = openStore({ path: dir, maxPredictionEntries: BOUND, maxEmbeddingEntries: BOUND });
  try {
    for (let i = 0; i < ENTRIES; i++) {
      void store.predictions.put(`p${i}`, { ...answer, request_id: `r${i}` }, 3600);
      void store.embeddings.put(`e${i}`, new Float32Array(100).map((_, j) => Math.sin(i + j)), 3600);
      if (i % 2000 === 1999) await new Promise((r) => setTimeout(r, 30)); // let the writes commit
    }
    await new Promise((r) => setTimeout(r, 500));
    let longest = 0;
    let last = performance.now();
    const probe = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const timed = async (name: string, trim: () => Promise<number>) => {
      const size = store.stats()[name === 'predictions' ? 'predictions' : 'embeddings'].size;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const removed = await trim();
      const c = process.cpuUsage(c0);
      process.stdout.write(`${name}: ${size} -> ${size - removed} entries, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, wall ${(performance.now() - t0).toFixed(0)} ms\n`);
    };
    await timed('predictions', () => store.predictions.trimTo(BOUND));
    await timed('embeddings', () => store.embeddings.trimTo(BOUND));
    clearInterval(probe);
    process.stdout.write(`longest event-loop gap during the trims: ${longest.toFixed(1)} ms (load average ${os.loadavg()[0]!.toFixed(2)})\n`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
