/**
 * The pool sends waiting tasks to a free worker together, as one batch (pool/index.ts),
 * without giving up first-come-first-served order, per-task results and errors, or the
 * rule that a task whose deadline passed while it waited is never run.
 */
import t from 'tap';
import { DEFAULT_CANDIDATE_LIMIT } from '../engine/predictor';
import { PredictionPool } from '../pool';
import { PoolError } from '../pool/types';
import { startTestServer, type TestServer } from './helpers/server';

function task(s: TestServer, i: number, specId = 'saas') {
  const spec = s.server.ctx.specs.get('saas')!;
  return { specId, catalogHash: spec.catalog.hash, transitionsVersion: 0, prompt: `find invoice ${i} of customer ${i * 7}`, history: [], topN: 5, now: Date.now() };
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (err: PoolError) => err.code);

t.test('tasks that wait go out together, up to the batch size, and finish in order', async (t) => {
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 64, taskTimeoutMs: 60_000 });
  t.equal((await s.post('/predict', { prompt: 'warm up' })).status, 200);
  const pool = s.server.ctx.pool;
  const before = pool.stats();
  const order: number[] = [];
  // Submitted in one go: the first finds the worker free, the other 23 wait for it.
  const tasks = Array.from({ length: 24 }, (_, i) => pool.predict(task(s, i)).then((r) => (order.push(i), r)));
  const results = await Promise.all(tasks);
  t.same(order, Array.from({ length: 24 }, (_, i) => i), 'first come, first served');
  t.ok(results.every((r) => r.kind === 'predict' && r.endpoints.length > 0), 'every task has its own result');
  const after = pool.stats();
  t.equal(after.batches - before.batches, 3, '1 alone, then 16, then 7 (DEFAULT_BATCH_SIZE)');
  t.equal(after.completed - before.completed, 24);
});

t.test('with two workers a backlog is shared: each free worker takes half of what waits', async (t) => {
  const s = await startTestServer(t, { poolSize: 2, queueLimit: 64, taskTimeoutMs: 60_000 });
  const pool = s.server.ctx.pool;
  // Both workers warm (each prepares the catalog on its first task).
  await Promise.all([pool.predict(task(s, 100)), pool.predict(task(s, 101))]);
  const before = pool.stats();
  const order: number[] = [];
  const results = await Promise.all(Array.from({ length: 24 }, (_, i) => pool.predict(task(s, i)).then((r) => (order.push(i), r))));
  t.ok(results.every((r) => r.endpoints.length > 0));
  t.equal(order.length, 24);
  // Two go out alone (both workers free), then the 22 waiting are halved at each hand-off:
  // 11, 6, 3, 1, 1. Handing the first free worker all it could take (16, then 6) left the
  // other idle while it worked through them.
  t.equal(pool.stats().batches - before.batches, 7);
  t.equal(pool.stats().completed - before.completed, 24);
});

t.test('a task that fails in a batch fails alone', async (t) => {
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 64, taskTimeoutMs: 60_000 });
  t.equal((await s.post('/predict', { prompt: 'warm up' })).status, 200);
  const pool = s.server.ctx.pool;
  const before = pool.stats();
  const first = pool.predict(task(s, 0));
  // These three wait for the first and go out as one batch.
  const batch = [pool.predict(task(s, 1)), pool.predict(task(s, 2, 'no-such-spec')), pool.predict(task(s, 3))];
  t.same(await Promise.all([code(first), ...batch.map(code)]), ['ok', 'ok', 'WORKER_FAILED', 'ok']);
  t.equal(pool.stats().batches - before.batches, 2);
  t.equal(pool.stats().failures - before.failures, 1);
});

t.test('tasks whose deadline passed while they waited are answered 504 and never sent', async (t) => {
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 64, taskTimeoutMs: 10 });
  const pool = s.server.ctx.pool;
  const before = pool.stats();
  // The first task on a fresh worker prepares the catalog: far beyond 10 ms (as in
  // pool-and-cache.test.ts); the four behind it wait past their deadlines.
  const codes = await Promise.all(Array.from({ length: 5 }, (_, i) => code(pool.predict(task(s, i)))));
  t.same(codes, ['DEADLINE', 'DEADLINE', 'DEADLINE', 'DEADLINE', 'DEADLINE']);
  // A probe (no deadline) queues behind everything: once it is answered, the gate has
  // dealt with the four expired tasks.
  await pool.probe();
  const after = pool.stats();
  t.equal(after.batches - before.batches, 2, 'the first task, then the probe: the expired four were not sent');
  t.equal(after.completed - before.completed, 2);
  t.equal(after.timeouts - before.timeouts, 5);
});

t.test('batch size 1 sends every task on its own, in order', async (t) => {
  const s = await startTestServer(t, { poolSize: 1 });
  const c = s.server.ctx.config;
  const pool = new PredictionPool({
    size: 1, batchSize: 1, maxQueue: 64, taskTimeoutMs: 60_000, dataDir: c.dataDir, rankerPath: c.rankerPath, embeddingKind: c.embeddingKind,
    embeddingModel: c.embeddingModel, embeddingVocab: c.embeddingVocab, candidateLimit: DEFAULT_CANDIDATE_LIMIT, allowCrashTask: false,
  });
  t.teardown(() => pool.close());
  await pool.predict(task(s, -1)); // warm up
  const order: number[] = [];
  await Promise.all(Array.from({ length: 6 }, (_, i) => pool.predict(task(s, i)).then(() => order.push(i))));
  t.same(order, [0, 1, 2, 3, 4, 5]);
  t.equal(pool.stats().batches, 7);
});

t.test("an answered task's result is not kept alive by its deadline, which stays queued until due", async (t) => {
  // The deadline queue holds every task's deadline until its time comes (here a minute).
  // What the deadline refers to must be let go once the task is answered: it used to keep
  // each result reachable for the whole timeout, so under load every result was promoted
  // to the old generation and died there.
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 64, taskTimeoutMs: 60_000 });
  t.equal((await s.post('/predict', { prompt: 'warm up' })).status, 200);
  // In a function of its own, so that no variable of this test holds a result.
  const answer = async (i: number): Promise<WeakRef<object>> => {
    const r = await s.server.ctx.pool.predict(task(s, i));
    return new WeakRef(r);
  };
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 8; i++) refs.push(await answer(i));
  // Let the awaits above unwind, then collect.
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  t.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'no result outlives its caller');
});
