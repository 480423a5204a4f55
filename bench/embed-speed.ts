/**
 * Embedding latency of the default word-vector encoder (ONNX on onnxruntime-web WASM, one
 * thread): 1,000 API-style prompts embedded one call per prompt, then in batches of 32.
 *
 *   npx ts-node --transpile-only bench/embed-speed.ts
 *
 * Prints JSON: microseconds per embed() call (mean, p50, p97_5, p99, max) for both modes,
 * per-text cost of the batched mode, load time, and the machine.
 */
import os from 'node:os';
import { loadEncoder } from '../engine/embedder';

const PROMPTS = 1000;
const BATCH = 32;
const WARMUP = 50;

const VERBS = ['list', 'create', 'delete', 'update', 'show me', 'find', 'cancel', 'refund', 'invite', 'export', 'archive', 'rename'];
const OBJECTS = ['users', 'the invoice', 'open orders', 'my subscription', 'team members', 'webhooks for project 42',
  'pending payments', 'api keys', 'task comments', 'shipping labels', 'audit log entries', 'customer profile'];
const TAILS = ['', ' please', ' created last week', ' for account acme', ' and notify the owner', ' sorted by date, newest first'];

/** Deterministic prompt set: every combination, cycled to the requested count. */
function prompts(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    out.push(`${VERBS[i % VERBS.length]} ${OBJECTS[Math.floor(i / VERBS.length) % OBJECTS.length]}${TAILS[i % TAILS.length]} #${i}`);
  }
  return out;
}

function stats(us: number[]): { calls: number; mean: number; p50: number; p97_5: number; p99: number; max: number } {
  const s = [...us].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    calls: s.length,
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    p50: round(at(0.5)),
    p97_5: round(at(0.975)),
    p99: round(at(0.99)),
    max: round(s[s.length - 1]!),
  };
}

async function main(): Promise<void> {
  const t0 = process.hrtime.bigint();
  const enc = await loadEncoder({ kind: 'word-vectors' });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const texts = prompts(PROMPTS);
  for (let i = 0; i < WARMUP; i++) await enc.embed([texts[i]!]);

  const single: number[] = [];
  for (const text of texts) {
    const s = process.hrtime.bigint();
    await enc.embed([text]);
    single.push(Number(process.hrtime.bigint() - s) / 1e3);
  }

  const batched: number[] = [];
  for (let i = 0; i < texts.length; i += BATCH) {
    const chunk = texts.slice(i, i + BATCH);
    const s = process.hrtime.bigint();
    await enc.embed(chunk);
    batched.push(Number(process.hrtime.bigint() - s) / 1e3);
  }
  const batchStats = stats(batched);

  console.log(JSON.stringify({
    bench: 'embed-speed',
    encoder: enc.name,
    dim: enc.dim,
    prompts: PROMPTS,
    load_ms: Math.round(loadMs),
    unit: 'us per embed() call',
    single: stats(single),
    [`batch_${BATCH}`]: { ...batchStats, per_text_mean: Math.round((batched.reduce((a, b) => a + b, 0) / PROMPTS) * 10) / 10 },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadavg_1m: os.loadavg()[0] },
  }, null, 2));
  await (enc as { release?: () => Promise<void> }).release?.();
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
