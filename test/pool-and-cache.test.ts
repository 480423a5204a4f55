import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestServer } from './helpers/server';

t.test('prediction cache: a repeated request is a hit with identical predictions', async (t) => {
  const s = await startTestServer(t);
  const body = { prompt: 'show the invoices of my team', max_predictions: 4, history: [{ api_call: 'GET /teams/7' }] };
  const first = await s.post('/predict', body);
  t.equal(first.status, 200);
  t.equal(first.json.metadata.performance_metrics.cache_hit, false);
  const second = await s.post('/predict', { ...body, prompt: '  Show the INVOICES of my team ' });
  t.equal(second.json.metadata.performance_metrics.cache_hit, true, 'normalised prompt hits the cache');
  t.same(second.json.predictions, first.json.predictions);
  const other = await s.post('/predict', { ...body, max_predictions: 2 });
  t.equal(other.json.metadata.performance_metrics.cache_hit, false, 'k is part of the key');
  t.equal(other.json.metadata.performance_metrics.embedding_cache_hit, true, 'the prompt embedding stored by the first request is found under the same key');
  const health = await s.get('/health');
  t.ok(health.json.components.store.caches.predictions.hits >= 1);
  const metrics = await s.get('/metrics');
  t.match(metrics.text, /opensesame_cache_requests_total\{cache="predictions",result="hit"\} [1-9]/);
});

t.test('prediction cache entries expire after their TTL', async (t) => {
  const s = await startTestServer(t, { cacheTtlSeconds: 1 });
  const body = { prompt: 'list all projects' };
  await s.post('/predict', body);
  t.equal((await s.post('/predict', body)).json.metadata.performance_metrics.cache_hit, true);
  const store = s.server.ctx.store;
  await new Promise((r) => setTimeout(r, 100)); // past the write-behind window
  t.equal(store.stats().embeddings.size, 1, 'the prompt embedding is cached too');
  await new Promise((r) => setTimeout(r, 1300));
  t.equal(await store.cleanupExpired(), 2, 'the answer and the prompt embedding expire together');
  t.equal(store.stats().predictions.size + store.stats().embeddings.size, 0);
  t.equal((await s.post('/predict', body)).json.metadata.performance_metrics.cache_hit, false, 'expired entry is a miss');
});

t.test('OPENSESAME_CACHE_MAX_ENTRIES and OPENSESAME_EMBEDDING_CACHE_MAX_ENTRIES bound their caches', async (t) => {
  const s = await startTestServer(t, {}, { OPENSESAME_CACHE_MAX_ENTRIES: '20', OPENSESAME_EMBEDDING_CACHE_MAX_ENTRIES: '10' });
  const prompts = ['list', 'show', 'find', 'open', 'view'].flatMap((verb) => ['projects', 'invoices', 'members', 'webhooks', 'teams'].map((noun) => `${verb} all ${noun}`));
  for (const prompt of prompts) t.equal((await s.post('/predict', { prompt })).status, 200);
  await new Promise((r) => setTimeout(r, 100)); // past the write-behind window
  const store = s.server.ctx.store;
  t.same([store.stats().predictions.size, store.stats().embeddings.size], [25, 25], 'both over their bounds');
  // What the server runs every 5 s.
  t.equal(await store.enforceBounds(), (25 - 18) + (25 - 9), 'each down to 90 % of its own bound');
  t.same([store.stats().predictions.size, store.stats().embeddings.size], [18, 9]);
  const last = await s.post('/predict', { prompt: prompts[prompts.length - 1] });
  t.equal(last.json.metadata.performance_metrics.cache_hit, true, 'the newest answer is kept');
});

t.test('with caching off, neither answers nor prompt embeddings are stored', async (t) => {
  const s = await startTestServer(t, { cacheTtlSeconds: 0 });
  for (let i = 0; i < 2; i++) t.equal((await s.post('/predict', { prompt: 'list all projects' })).json.metadata.performance_metrics.cache_hit, false);
  await new Promise((r) => setTimeout(r, 100)); // past the write-behind window
  t.equal(s.server.ctx.store.stats().predictions.size + s.server.ctx.store.stats().embeddings.size, 0);
});

t.test('pool: overload sheds with 503, a crashed worker fails only its request', async (t) => {
  // A generous deadline: this test is about shedding and crash isolation, and the
  // replacement worker's cold start (encoder, model, catalog) is slow on a busy machine.
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 1, taskTimeoutMs: 60_000 }, {}, { allowCrashTask: true });
  // Warm the worker's catalog first so later tasks are quick and deterministic.
  t.equal((await s.post('/predict', { prompt: 'warm up' })).status, 200);

  const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => s.post('/predict', { prompt: `find user number ${i} by email` })));
  const statuses = burst.map((r) => r.status);
  t.ok(statuses.includes(503), `some requests shed (${statuses.filter((x) => x === 503).length} of 40)`);
  t.ok(statuses.includes(200), 'some requests served');
  for (const r of burst.filter((x) => x.status === 503)) t.equal(r.json.error.code, 'OVERLOADED');
  t.ok(statuses.every((x) => x === 200 || x === 503), 'nothing but 200 and 503');

  const crash = await s.server.ctx.pool.crashOne().then(
    () => 'resolved',
    (err: Error & { code?: string }) => err.code,
  );
  t.equal(crash, 'WORKER_FAILED');
  const after = await s.post('/predict', { prompt: 'list invoices after the crash' });
  t.equal(after.status, 200, 'next request succeeds on a replacement worker');
  t.ok(s.server.ctx.pool.stats().failures >= 1);
});

t.test('pool: tasks start in the order they were submitted, and the queue is counted', async (t) => {
  const s = await startTestServer(t, { poolSize: 1, queueLimit: 64, taskTimeoutMs: 60_000 });
  t.equal((await s.post('/predict', { prompt: 'warm up' })).status, 200);
  const pool = s.server.ctx.pool;
  const spec = s.server.ctx.specs.get('saas')!;
  const order: number[] = [];
  const tasks = Array.from({ length: 24 }, (_, i) =>
    pool
      .predict({ specId: 'saas', catalogHash: spec.catalog.hash, transitionsVersion: 0, prompt: `find invoice ${i} of customer ${i * 7}`, history: [], topN: 5, now: Date.now() })
      .then(() => order.push(i)),
  );
  t.ok(pool.stats().queueSize >= 20, `waiting tasks are counted (${pool.stats().queueSize})`);
  await Promise.all(tasks);
  t.same(order, Array.from({ length: 24 }, (_, i) => i), 'first come, first served');
  t.equal(pool.stats().queueSize, 0);
});

t.test('pool: a task past its deadline gives 504', async (t) => {
  const s = await startTestServer(t, { poolSize: 1, taskTimeoutMs: 10 });
  // The first task on a fresh worker loads the catalog and encoder: far beyond 10 ms.
  const r = await s.post('/predict', { prompt: 'a deadline that cannot be met' });
  t.equal(r.status, 504);
  t.equal(r.json.error.code, 'DEADLINE_EXCEEDED');
});

t.test('feedback updates transitions that the next prediction uses, and persists', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-feedback-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = await startTestServer(t, {}, {}, { keepDataDir: dir });
  const bad = await s.post('/feedback', { events: [{ api_call: 'GET /users/1' }, { api_call: 42 }, { api_call: 'GET /nowhere' }] });
  t.equal(bad.status, 400);
  t.same(
    bad.json.error.details.events.map((e: { index: number }) => e.index),
    [1, 2],
    'one reason per bad event',
  );
  const seq = [{ api_call: 'GET /users/1' }, { api_call: 'GET /users/1/preferences' }, { api_call: 'PUT /users/1/preferences' }];
  const ok = await Promise.all(Array.from({ length: 10 }, () => s.post('/feedback', { session_id: 's1', events: seq })));
  t.ok(ok.every((r) => r.status === 202));
  const store = s.server.ctx.store;
  t.equal(store.transitions.bigram('saas', 'GET /users/{userId}', 'GET /users/{userId}/preferences'), 10, 'concurrent writes lose nothing');
  const p = await s.post('/predict', { prompt: 'what next', history: [{ api_call: 'GET /users/1' }] });
  t.equal(p.status, 200);
  t.equal(p.json.predictions[0].api_call, 'GET /users/{userId}/preferences', 'observed transition wins');
  await s.server.close();
  const s2 = await startTestServer(t, {}, {}, { keepDataDir: dir });
  t.equal(s2.server.ctx.store.transitions.bigram('saas', 'GET /users/{userId}', 'GET /users/{userId}/preferences'), 10, 'survives a restart');
  t.equal(s2.server.ctx.store.trainingLog.count(), 10);
  const logged = [...s2.server.ctx.store.trainingLog.iterate({})];
  t.ok(logged.every((e) => e.sessionId !== undefined && e.sessionId !== 's1'), 'session ids are stored hashed');
});
