/**
 * Answer parity between two builds: starts the built server of this checkout and the one
 * of another checkout (`--base <dir>`, built there), sends both the same requests —
 * unique prompts, prompts with history, several k and temperatures, the helpdesk and
 * shop specs, an uploaded 608-endpoint spec, WebSocket predictions, and repeats of all
 * of them (cache hits) — and compares the answers with the per-request values removed
 * (request id, timings). Exit 1 on any difference. Not a benchmark: a check that a
 * performance change kept every ranking, score and field identical.
 *
 *   npm run build && (cd ../other && npm run build) && npx ts-node --transpile-only bench/parity.ts --base ../other [--count 400]
 */
import path from 'node:path';
import WebSocket from 'ws';
import { startServerProcess, type ServerProcess } from './lib/server-process';
import { buildLargeSpec, largeSpecPrompt } from './lib/synthetic-spec';
import { codeWords, saasHistory, uniquePrompt } from './lib/workload';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const baseDir = flag('base');
if (!baseDir) {
  process.stderr.write('usage: parity.ts --base <checkout with a build> [--count N]\n');
  process.exit(2);
}
const COUNT = Number(flag('count') ?? 300);
const spec = buildLargeSpec();

/** Drops what legitimately differs between two answers to the same request. */
function normalise(text: string): string {
  const j = JSON.parse(text) as Record<string, any>;
  delete j.processing_time_ms;
  if (j.metadata) {
    delete j.metadata.request_id;
    const p = j.metadata.performance_metrics;
    if (p) for (const k of ['ml_scoring_latency_ms', 'embedding_latency_ms', 'pipeline_latency_ms', 'llm_latency_ms']) delete p[k];
  }
  return JSON.stringify(j);
}

function bodies(): unknown[] {
  const out: unknown[] = [];
  for (let n = 0; n < COUNT; n++) {
    const k = 1 + (n % 7);
    const temperature = n % 5 === 0 ? undefined : (n % 9) * 0.25;
    out.push({ prompt: uniquePrompt(n * 13), max_predictions: k, ...(temperature === undefined ? {} : { temperature }) });
    out.push({ prompt: uniquePrompt(n * 13 + 5), history: saasHistory(n), max_predictions: k });
    if (n % 3 === 0) out.push({ prompt: uniquePrompt(n), spec_id: n % 2 ? 'helpdesk' : 'shop', max_predictions: 3 + (n % 4) });
    if (n % 2 === 0) out.push({ prompt: largeSpecPrompt(spec.resources, n, `ref ${codeWords(n)}`), spec_id: 'bench-large', max_predictions: 5 });
  }
  out.push({ prompt: 'create a new user account' }, { prompt: 'what next', history: [{ api_call: 'GET /users/1' }, { api_call: '/nowhere/at/all' }] });
  return out;
}

async function post(url: string, body: unknown): Promise<string> {
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return `${res.status} ${res.headers.get('content-type')} ${await res.text()}`;
}

async function wsAnswers(url: string, msgs: unknown[]): Promise<string[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const answers: string[] = [];
  for (const [i, m] of msgs.entries()) {
    ws.send(JSON.stringify({ type: 'predict', id: i % 2 ? `m${i}` : i, ...(m as object) }));
    answers.push((await new Promise((resolve) => ws.once('message', (d) => resolve(String(d))))) as string);
  }
  ws.close();
  return answers;
}

async function collect(server: ServerProcess, reqs: unknown[]): Promise<string[]> {
  const up = await fetch(`${server.url}/specs?spec_id=bench-large`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec.doc) });
  if (up.status !== 201) throw new Error(`upload failed: ${up.status}`);
  const out: string[] = [];
  for (const round of ['miss', 'hit']) {
    for (const b of reqs) {
      const r = await post(server.url, b);
      const sp = r.indexOf(' {');
      out.push(`${round} ${r.slice(0, sp)} ${normalise(r.slice(sp + 1))}`);
    }
  }
  const ws = await wsAnswers(server.url, reqs.slice(0, 40).map((b) => ({ ...(b as object), prompt: `${(b as { prompt: string }).prompt} over ws` })));
  for (const a of ws) {
    const j = JSON.parse(a) as Record<string, unknown>;
    const { type, id, stage, ...rest } = j;
    out.push(`ws ${String(type)} ${JSON.stringify(id)} ${String(stage)} ${normalise(JSON.stringify(rest))}`);
  }
  return out;
}

(async () => {
  const reqs = bodies();
  const env = { OPENSESAME_POOL_SIZE: '1', OPENSESAME_WS_RATE_PER_SECOND: '0' };
  const a = await startServerProcess({ env });
  const here = await collect(a, reqs).finally(() => a.stop());
  const b = await startServerProcess({ env, script: path.resolve(baseDir, 'dist/server/main.js') });
  const there = await collect(b, reqs).finally(() => b.stop());
  let diffs = 0;
  for (let i = 0; i < Math.max(here.length, there.length); i++) {
    if (here[i] !== there[i]) {
      if (diffs++ < 5) process.stdout.write(`DIFF #${i}\n  here:  ${here[i]}\n  there: ${there[i]}\n`);
    }
  }
  process.stdout.write(`${here.length} answers compared (${reqs.length} requests x miss/hit + 40 WebSocket), ${diffs} differ\n`);
  process.exit(diffs ? 1 : 0);
})().catch((err: unknown) => {
  process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(1);
});
