/**
 * store/: real LMDB environments in temp dirs, real worker threads for the
 * concurrent-writer and read-only-reader cases, raw lmdb to forge old/new data dirs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { open, type Database } from 'lmdb';
import { ANSWER_DICTIONARY } from '../store/answer-dictionary';
import { ExpiryIndex } from '../store/expiry-index';
import { trimByExpiry, trimByIndex } from '../store/sweep';
import { encodeTtlFrame, frameExpiry, TTL_HEADER_BYTES } from '../store/ttl-cache';
import { WriteBehind } from '../store/write-behind';
import { openStore, pairKey, SCHEMA_VERSION, StoreError, type SpecRecord, type Store, type JobRecord } from '../store/index';

const FIXTURES = path.join(__dirname, 'fixtures');

/** A manual clock in ms. */
function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store that is closed at teardown (before the dir is removed: teardowns run LIFO). */
function openTemp<P = unknown>(t: Test, dir: string, opts: { readOnly?: boolean; now?: () => number } = {}): Store<P> {
  const store = openStore<P>({ path: dir, ...opts });
  t.teardown(() => store.close());
  return store;
}

function spec(id: string, extra: Partial<SpecRecord> = {}): SpecRecord {
  return {
    specId: id, title: `API ${id}`, version: '1.0.0', format: 'openapi-3.0', source: 'upload',
    createdAt: 1_700_000_000_000, catalogHash: `hash-${id}`, rawJson: JSON.stringify({ openapi: '3.0.0', info: { title: id } }),
    ...extra,
  };
}

function job(id: string, createdAt: number, status: JobRecord['status'] = 'running'): JobRecord {
  return { id, kind: 'train', status, progress: 0.5, createdAt, updatedAt: createdAt, message: 'halfway' };
}

/** Raw lmdb handle on a data dir, with the store's own database names and encodings. */
async function withRaw(dir: string, fn: (db: (name: string) => Database) => Promise<void>): Promise<void> {
  const root = open({ path: dir, maxDbs: 16 });
  try {
    await fn((name) => root.openDB({ name, encoding: name === 'embeddings' || name === 'endpoint_embeddings' ? 'binary' : 'msgpack' }));
  } finally {
    await root.close();
  }
}

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function runWorker(file: string, workerData: unknown): Worker {
  // execArgv: [] so the worker does not inherit tap's loader flags; the fixture registers
  // ts-node itself.
  return new Worker(path.join(FIXTURES, file), { workerData, execArgv: [] });
}

function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T) => { cleanup(); resolve(m); };
    const onError = (e: Error) => { cleanup(); reject(e); };
    const onExit = (code: number) => { cleanup(); reject(new Error(`worker exited with ${code}`)); };
    const cleanup = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

t.test('a fresh data dir is stamped with the current schema', async (t) => {
  const dir = tempDir(t);
  const store = openTemp(t, dir);
  t.same(store.schema, { found: undefined, migrated: false, dropped: 0 });
  t.equal(store.readOnly, false);
  await store.close();
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION);
  });
  const again = openTemp(t, dir);
  t.same(again.schema, { found: SCHEMA_VERSION, migrated: false, dropped: 0 });
});

t.test('specs: put, get, list, delete, and survive a restart', async (t) => {
  const dir = tempDir(t);
  const store = openTemp(t, dir);
  await store.specs.put(spec('petstore'));
  await store.specs.put(spec('github', { source: 'url', url: 'http://127.0.0.1/github.json' }));
  await store.specs.put(spec('stripe'));
  t.same(store.specs.get('petstore'), spec('petstore'));
  t.equal(store.specs.get('github')?.url, 'http://127.0.0.1/github.json');
  t.equal(store.specs.get('nope'), undefined, 'a miss is undefined');
  t.same(store.specs.list().map((s) => s.specId), ['github', 'petstore', 'stripe']);
  t.equal(await store.specs.delete('stripe'), true);
  t.equal(await store.specs.delete('stripe'), false);
  t.equal(store.specs.get('stripe'), undefined);

  const incomplete = { ...spec('x'), rawJson: undefined } as unknown as SpecRecord;
  const p = store.specs.put(incomplete);
  t.type(p, Promise, 'bad input rejects rather than throws');
  await t.rejects(p, { code: 'STORE_BAD_ARGUMENT' });
  await t.rejects(store.specs.put(spec('x', { source: 'ftp' as never })), { code: 'STORE_BAD_ARGUMENT' });

  await store.close();
  const reopened = openTemp(t, dir);
  t.same(reopened.specs.list().map((s) => s.specId), ['github', 'petstore']);
  t.same(reopened.specs.get('petstore'), spec('petstore'));
});

t.test('prediction cache: TTL on the injected clock, hit/miss stats', async (t) => {
  const c = clock();
  const store = openTemp<{ predictions: string[] }>(t, tempDir(t), { now: c.now });
  await store.predictions.put('req-1', { predictions: ['GET /users'] }, 10);
  t.same(store.predictions.get('req-1'), { predictions: ['GET /users'] });
  c.advance(9_999);
  t.same(store.predictions.get('req-1'), { predictions: ['GET /users'] }, 'live just before expiry');
  c.advance(1);
  t.equal(store.predictions.get('req-1'), undefined, 'expired at exactly ttl');
  t.equal(store.predictions.get('req-2'), undefined, 'absent');
  t.same(store.stats().predictions, { hits: 2, misses: 2, size: 1 }, 'expired entry still on disk until cleanup');

  await store.predictions.put('req-1', { predictions: ['POST /users'] }, 5);
  t.same(store.predictions.get('req-1'), { predictions: ['POST /users'] }, 'put refreshes value and expiry');
  t.equal(await store.predictions.delete('req-1'), true);
  t.equal(store.predictions.get('req-1'), undefined);

  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await t.rejects(store.predictions.put('k', { predictions: [] }, bad), { code: 'STORE_BAD_ARGUMENT' }, `ttl ${bad}`);
  }

  // Keys too long for LMDB are hashed, and two long keys stay distinct.
  const longA = 'a'.repeat(5000), longB = 'a'.repeat(4999) + 'b';
  await store.predictions.put(longA, { predictions: ['A'] }, 60);
  await store.predictions.put(longB, { predictions: ['B'] }, 60);
  t.same(store.predictions.get(longA), { predictions: ['A'] });
  t.same(store.predictions.get(longB), { predictions: ['B'] });
});

t.test('URL spec cache: raw text and fetch time, undefined once expired', async (t) => {
  const c = clock();
  const store = openTemp(t, tempDir(t), { now: c.now });
  const url = 'http://127.0.0.1:8080/openapi.yaml';
  await store.urlSpecs.put(url, 'openapi: 3.0.0\n', 3600);
  const fetchedAt = c.now();
  c.advance(60_000);
  t.same(store.urlSpecs.get(url), { raw: 'openapi: 3.0.0\n', fetchedAt });
  c.advance(3_600_000);
  t.equal(store.urlSpecs.get(url), undefined);
  t.equal(store.urlSpecs.get('http://127.0.0.1/other'), undefined);
  t.same(store.stats().urlSpecs, { hits: 1, misses: 2, size: 1 });
  await t.rejects(store.urlSpecs.put(url, 42 as unknown as string, 10), { code: 'STORE_BAD_ARGUMENT' });
});

t.test('embeddings: Float32Array round-trips bit for bit, optional TTL', async (t) => {
  const c = clock();
  const store = openTemp(t, tempDir(t), { now: c.now });
  const special = new Float32Array([0, -0, 1.5, -3.25e-38, 1.4e-45, 3.4028234663852886e38, Infinity, -Infinity, NaN, Math.PI]);
  // Also a view at a non-zero offset into a bigger buffer.
  const backing = new Float32Array(103);
  for (let i = 0; i < backing.length; i++) backing[i] = Math.sin(i) * 1e3;
  const view = backing.subarray(3, 103);

  await store.embeddings.put('special', special);
  await store.embeddings.put('view', view);
  const gotSpecial = store.embeddings.get('special');
  const gotView = store.embeddings.get('view');
  t.ok(gotSpecial instanceof Float32Array);
  t.equal(Buffer.compare(bytesOf(gotSpecial!), bytesOf(special)), 0, 'exact bytes, NaN and -0 included');
  t.equal(gotView!.length, 100);
  t.equal(Buffer.compare(bytesOf(gotView!), bytesOf(view)), 0);
  // The result is an independent copy, not a view on lmdb's shared read buffer.
  const first = store.embeddings.get('view')!;
  store.embeddings.get('special');
  t.equal(Buffer.compare(bytesOf(first), bytesOf(view)), 0, 'survives a later read');

  c.advance(10 * 365 * 86_400_000);
  t.ok(store.embeddings.get('special'), 'no TTL: still there ten years later');
  await store.embeddings.put('short', new Float32Array([1, 2]), 30);
  t.same(Array.from(store.embeddings.get('short')!), [1, 2]);
  c.advance(30_000);
  t.equal(store.embeddings.get('short'), undefined);
  t.equal(store.embeddings.get('absent'), undefined);
  t.same(store.stats().embeddings, { hits: 6, misses: 2, size: 3 });
  t.equal(await store.embeddings.delete('view'), true);
  await t.rejects(store.embeddings.put('empty', new Float32Array(0)), { code: 'STORE_BAD_ARGUMENT' });
  await t.rejects(store.embeddings.put('arr', [1, 2] as unknown as Float32Array), { code: 'STORE_BAD_ARGUMENT' });
});

t.test('endpoint embeddings: a matrix per catalog hash', async (t) => {
  const store = openTemp(t, tempDir(t));
  const data = new Float32Array(12).map((_, i) => i / 7);
  await store.endpointEmbeddings.put('model-a:hash-1', data, 4);
  const got = store.endpointEmbeddings.get('model-a:hash-1');
  t.equal(got?.rows, 3);
  t.equal(got?.dims, 4);
  t.equal(Buffer.compare(bytesOf(got!.data), bytesOf(data)), 0);
  t.equal(store.endpointEmbeddings.get('model-b:hash-1'), undefined);
  await t.rejects(store.endpointEmbeddings.put('bad', data, 5), { code: 'STORE_BAD_ARGUMENT' });
  t.equal(await store.endpointEmbeddings.delete('model-a:hash-1'), true);
  t.equal(store.endpointEmbeddings.get('model-a:hash-1'), undefined);
});

t.test('cleanupExpired removes expired entries and keeps live ones', async (t) => {
  const c = clock();
  const store = openTemp(t, tempDir(t), { now: c.now });
  // More entries than one scan batch, so the paging path runs.
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 2500; i++) writes.push(store.predictions.put(`p${i}`, i, i % 2 === 0 ? 1 : 1000));
  writes.push(store.urlSpecs.put('http://127.0.0.1/a', 'a', 1), store.urlSpecs.put('http://127.0.0.1/b', 'b', 1000));
  writes.push(store.embeddings.put('e-short', new Float32Array([1]), 1), store.embeddings.put('e-forever', new Float32Array([2])));
  await Promise.all(writes);
  t.equal(await store.cleanupExpired(), 0, 'nothing expired yet');
  c.advance(5_000);
  t.equal(await store.cleanupExpired(), 1250 + 1 + 1);
  t.equal(store.stats().predictions.size, 1250);
  t.equal(store.stats().urlSpecs.size, 1);
  t.equal(store.stats().embeddings.size, 1);
  t.equal(store.predictions.get('p1'), 1);
  t.equal(store.predictions.get('p2499'), 2499);
  t.equal(store.urlSpecs.get('http://127.0.0.1/b')?.raw, 'b');
  t.ok(store.embeddings.get('e-forever'));
  t.equal(await store.cleanupExpired(), 0, 'idempotent');
});

t.test('transitions: bigram and trigram counts, totals, snapshot', async (t) => {
  const store = openTemp(t, tempDir(t));
  const tr = store.transitions;
  const [A, B, C] = ['GET /users', 'GET /users/{id}', 'PUT /users/{id}'];
  t.equal(tr.version('s'), 0);
  await tr.addSequence('s', [A, B, C, A, B]);
  t.equal(tr.bigram('s', A, B), 2);
  t.equal(tr.bigramTotal('s', A), 2);
  t.equal(tr.bigram('s', B, C), 1);
  t.equal(tr.bigramTotal('s', B), 1, 'the final B is followed by nothing');
  t.equal(tr.bigram('s', C, A), 1);
  t.equal(tr.bigram('s', C, B), 0, 'unseen is 0');
  t.equal(tr.trigram('s', A, B, C), 1);
  t.equal(tr.trigram('s', B, C, A), 1);
  t.equal(tr.trigram('s', C, A, B), 1);
  t.equal(tr.trigramTotal('s', A, B), 1, 'the final A,B is followed by nothing');
  t.equal(tr.version('s'), 1);

  await tr.addSequence('s', [A]);
  await tr.addSequence('s', []);
  t.equal(tr.version('s'), 1, 'sequences without a transition write nothing');
  await t.rejects(tr.addSequence('s', [A, '']), { code: 'STORE_BAD_ARGUMENT' });
  await t.rejects(tr.addSequence('', [A, B]), { code: 'STORE_BAD_ARGUMENT' });

  // Specs whose ids share a prefix stay separate.
  await tr.addSequence('s2', [A, C]);
  await tr.addSequence('s\u0001', [B, A]);
  const snap = tr.snapshot('s');
  t.equal(snap.version, 1);
  t.same([...snap.prevTotals].sort(), [[A, 2], [B, 1], [C, 1]]);
  t.equal(snap.bigrams.get(A)?.get(B), 2);
  t.equal(snap.bigrams.get(A)?.get(C), undefined, 's2 does not leak into s');
  t.equal(snap.bigrams.get(B)?.get(A), undefined, "'s\\u0001' does not leak into s");
  t.equal(snap.pairTotals.get(pairKey(A, B)), 1);
  t.equal(snap.trigrams.get(pairKey(C, A))?.get(B), 1);
  t.equal(snap.trigrams.size, 3);
  t.same(tr.snapshot('unknown'), { specId: 'unknown', version: 0, prevTotals: new Map(), bigrams: new Map(), pairTotals: new Map(), trigrams: new Map() });

  t.ok((await tr.deleteSpec('s')) > 0);
  t.equal(tr.bigram('s', A, B), 0);
  t.equal(tr.version('s'), 2, 'delete bumps the version so snapshots refresh');
  t.equal(tr.bigram('s2', A, C), 1, 'other specs untouched');
});

t.test('transitions: 50 parallel addSequence calls lose nothing', async (t) => {
  const store = openTemp(t, tempDir(t));
  const seq = ['GET /a', 'GET /b', 'GET /c'];
  await Promise.all(Array.from({ length: 50 }, () => store.transitions.addSequence('s', seq)));
  t.equal(store.transitions.bigram('s', 'GET /a', 'GET /b'), 50);
  t.equal(store.transitions.trigram('s', 'GET /a', 'GET /b', 'GET /c'), 50);
  t.equal(store.transitions.version('s'), 50);
});

t.test('transitions: two worker threads and the main thread writing at once lose nothing', async (t) => {
  const dir = tempDir(t);
  const store = openTemp(t, dir);
  const seq = ['GET /x', 'POST /y', 'GET /x'];
  const workers = [runWorker('store-writer.js', { path: dir, specId: 's', sequence: seq, times: 40 }),
    runWorker('store-writer.js', { path: dir, specId: 's', sequence: seq, times: 40 })];
  for (const w of workers) t.teardown(() => w.terminate());
  t.same(await Promise.all(workers.map((w) => nextMessage(w))), [{ ready: true }, { ready: true }]);
  const done = workers.map((w) => nextMessage<{ ok: boolean; error?: string }>(w));
  for (const w of workers) w.postMessage('go');
  await Promise.all(Array.from({ length: 40 }, () => store.transitions.addSequence('s', seq)));
  for (const result of await Promise.all(done)) t.same(result, { ok: true }, result.error ?? 'worker finished');
  t.equal(store.transitions.bigram('s', 'GET /x', 'POST /y'), 120);
  t.equal(store.transitions.bigram('s', 'POST /y', 'GET /x'), 120);
  t.equal(store.transitions.trigram('s', 'GET /x', 'POST /y', 'GET /x'), 120);
  t.equal(store.transitions.version('s'), 120);
});

t.test('training log: append, iterate in order, count, persist', async (t) => {
  const dir = tempDir(t);
  const store = openTemp(t, dir);
  t.equal(store.trainingLog.count(), 0);
  t.equal(await store.trainingLog.append({ sessionId: 'u1', specId: 'pet', calls: ['GET /pets', 'GET /pets/{id}'], at: 1 }), 1);
  t.equal(await store.trainingLog.append({ specId: 'gh', calls: ['GET /repos'], at: 2 }), 2);
  const seqs = await Promise.all(Array.from({ length: 20 }, (_, i) => store.trainingLog.append({ specId: 'pet', calls: [`GET /p${i}`], at: 10 + i })));
  t.same([...seqs].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 3), 'concurrent appends get distinct numbers');
  t.equal(store.trainingLog.count(), 22);
  const all = [...store.trainingLog.iterate()];
  t.same(all[0], { seq: 1, sessionId: 'u1', specId: 'pet', calls: ['GET /pets', 'GET /pets/{id}'], at: 1 });
  t.same(all[1], { seq: 2, specId: 'gh', calls: ['GET /repos'], at: 2 }, 'no sessionId key when none was given');
  t.same(all.map((e) => e.seq), Array.from({ length: 22 }, (_, i) => i + 1));
  t.equal([...store.trainingLog.iterate({ specId: 'gh' })].length, 1);
  t.same([...store.trainingLog.iterate({ afterSeq: 20 })].map((e) => e.seq), [21, 22]);
  await t.rejects(store.trainingLog.append({ specId: 'pet', calls: [1] as unknown as string[], at: 1 }), { code: 'STORE_BAD_ARGUMENT' });
  await store.close();
  const reopened = openTemp(t, dir);
  t.equal(reopened.trainingLog.count(), 22);
  t.equal(await reopened.trainingLog.append({ specId: 'gh', calls: [], at: 3 }), 23, 'numbering continues after restart');
});

t.test('jobs: put, get, list newest first, delete', async (t) => {
  const store = openTemp(t, tempDir(t));
  await store.jobs.put('j1', job('j1', 100));
  await store.jobs.put('j2', { ...job('j2', 200, 'succeeded'), result: { modelVersion: 'ranker-x', ndcg: 0.71 } });
  t.same(store.jobs.get('j1'), job('j1', 100));
  t.same(store.jobs.get('j2')?.result, { modelVersion: 'ranker-x', ndcg: 0.71 });
  t.same(store.jobs.list().map((j) => j.id), ['j2', 'j1']);
  await store.jobs.put('j1', { ...job('j1', 100, 'failed'), message: 'boom' });
  t.equal(store.jobs.get('j1')?.status, 'failed');
  await t.rejects(store.jobs.put('j3', job('other', 1)), { code: 'STORE_BAD_ARGUMENT' });
  t.equal(await store.jobs.delete('j1'), true);
  t.equal(store.jobs.get('j1'), undefined);
});

t.test('budget: a raw database handed to the LLM layer', async (t) => {
  const dir = tempDir(t);
  const store = openTemp(t, dir);
  await store.budgetDb.put('2026-01-01', { spentUsd: 1.25 });
  t.same(store.budgetDb.get('2026-01-01'), { spentUsd: 1.25 });
  await store.close();
  t.same(openTemp(t, dir).budgetDb.get('2026-01-01'), { spentUsd: 1.25 });
});

t.test('read-only stores read the writer\'s data and refuse every write', async (t) => {
  const dir = tempDir(t);
  const writer = openTemp(t, dir);
  await writer.specs.put(spec('pet'));
  await writer.predictions.put('k', 'v', 60);
  await writer.embeddings.put('e', new Float32Array([1, 2, 3]));
  await writer.transitions.addSequence('pet', ['GET /a', 'GET /b']);
  const reader = openTemp(t, dir, { readOnly: true });
  t.equal(reader.readOnly, true);
  t.same(reader.specs.get('pet'), spec('pet'));
  t.equal(reader.predictions.get('k'), 'v');
  t.same(Array.from(reader.embeddings.get('e')!), [1, 2, 3]);
  t.equal(reader.transitions.bigram('pet', 'GET /a', 'GET /b'), 1);

  await writer.transitions.addSequence('pet', ['GET /a', 'GET /b']);
  t.equal(reader.transitions.bigram('pet', 'GET /a', 'GET /b'), 2, 'sees later commits');

  const writes: [string, () => Promise<unknown>][] = [
    ['specs.put', () => reader.specs.put(spec('x'))],
    ['specs.delete', () => reader.specs.delete('pet')],
    ['predictions.put', () => reader.predictions.put('k', 'w', 60)],
    ['predictions.delete', () => reader.predictions.delete('k')],
    ['urlSpecs.put', () => reader.urlSpecs.put('http://127.0.0.1/', 'x', 60)],
    ['embeddings.put', () => reader.embeddings.put('e', new Float32Array([1]))],
    ['endpointEmbeddings.put', () => reader.endpointEmbeddings.put('m', new Float32Array([1]), 1)],
    ['transitions.addSequence', () => reader.transitions.addSequence('pet', ['GET /a', 'GET /b'])],
    ['transitions.deleteSpec', () => reader.transitions.deleteSpec('pet')],
    ['trainingLog.append', () => reader.trainingLog.append({ specId: 'pet', calls: [], at: 1 })],
    ['jobs.put', () => reader.jobs.put('j', job('j', 1))],
    ['cleanupExpired', () => reader.cleanupExpired()],
  ];
  for (const [name, write] of writes) {
    const err = await write().then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof StoreError, `${name} rejects`);
    t.equal((err as StoreError).code, 'STORE_READ_ONLY', name);
    t.match((err as StoreError).message, name, 'message names the operation');
  }
  t.equal(writer.transitions.bigram('pet', 'GET /a', 'GET /b'), 2, 'nothing was written');
  t.equal(writer.predictions.get('k'), 'v');
});

t.test('a read-only worker thread sees the writer\'s commits and cannot write', async (t) => {
  const dir = tempDir(t);
  const writer = openTemp(t, dir);
  await writer.specs.put(spec('pet'));
  const worker = runWorker('store-reader.js', { path: dir });
  t.teardown(() => worker.terminate());
  t.same(await nextMessage(worker), { ready: true });
  let id = 0;
  const ask = async (op: string, ...args: unknown[]): Promise<unknown> => {
    const reply = nextMessage<{ id: number; result?: unknown; error?: string }>(worker);
    worker.postMessage({ id: ++id, op, args });
    const r = await reply;
    if (r.error) throw new Error(r.error);
    return r.result;
  };
  t.same(await ask('spec', 'pet'), spec('pet'));
  t.equal(await ask('version', 'pet'), 0);
  await writer.transitions.addSequence('pet', ['GET /a', 'GET /b']);
  t.equal(await ask('bigram', 'pet', 'GET /a', 'GET /b'), 1, 'commit after the worker opened is visible');
  t.equal(await ask('version', 'pet'), 1);
  t.equal(await ask('tryWrite'), 'STORE_READ_ONLY');
  t.equal(await ask('close'), 'closed');
});

t.test('read-only open of a missing or uninitialised dir is refused clearly', async (t) => {
  const dir = tempDir(t);
  t.throws(() => openStore({ path: path.join(dir, 'missing'), readOnly: true }), { code: 'STORE_NOT_INITIALISED' });
  t.throws(() => openStore({ path: '' }), { code: 'STORE_BAD_ARGUMENT' });
  // An LMDB env that exists but was never opened by the store.
  const bare = path.join(dir, 'bare');
  const root = open({ path: bare });
  await root.put('x', 1);
  await root.close();
  t.throws(() => openStore({ path: bare, readOnly: true }), { code: 'STORE_NOT_INITIALISED' });
});

t.test('a data dir from before record versions (schema 0) is migrated, caches rebuilt, nothing misread', async (t) => {
  const dir = tempDir(t);
  const c = clock();
  const far = c.now() + 86_400_000;
  // Forge a schema-0 data dir: same names, records without versions.
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', 0);
    const oldSpec = { ...spec('pet') }; // no `v`
    await db('specs').put('pet', oldSpec);
    await db('specs').put('broken', { specId: 'broken' }); // unreadable, no migration can fix it
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /b'], 7);
    await db('transitions').put(['pet', 'u', 'GET /a'], 7);
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /c'], 'seven'); // garbage
    await db('training_log').put(1, { specId: 'pet', calls: ['GET /a', 'GET /b'], at: 5 });
    await db('jobs').put('j-old', { id: 'j-old', kind: 'train', status: 'running', progress: 0.1, createdAt: 1, updatedAt: 1 });
    // Cache records in an old shape that a careless reader could take for current ones:
    // a prediction with the same field names, and a raw vector whose first byte happens
    // to equal SCHEMA_VERSION.
    await db('predictions').put('req', { v: 1, e: far, d: { stale: true } });
    await db('url_specs').put('http://127.0.0.1/s', { e: far, d: { raw: 'old', fetchedAt: 0 } });
    const oldVec = Buffer.alloc(32);
    oldVec[0] = SCHEMA_VERSION;
    oldVec.writeUInt32LE(1, 4);
    await db('embeddings').put('prompt', oldVec);
    await db('endpoint_embeddings').put('h', oldVec);
    await db('budget').put('2026-01-01', { spentUsd: 3 });
  });

  const store = openTemp(t, dir, { now: c.now });
  t.equal(store.schema.found, 0);
  t.equal(store.schema.migrated, true);
  t.equal(store.schema.dropped, 3, 'broken spec, garbage counter, old job');
  t.same(store.specs.get('pet'), spec('pet'), 'durable spec carried over');
  t.same(store.specs.list().map((s) => s.specId), ['pet']);
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 7, 'counts carried over');
  t.equal(store.transitions.bigramTotal('pet', 'GET /a'), 7);
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /c'), 0);
  t.same([...store.trainingLog.iterate()], [{ seq: 1, specId: 'pet', calls: ['GET /a', 'GET /b'], at: 5 }]);
  t.equal(store.jobs.get('j-old'), undefined);
  t.equal(store.predictions.get('req'), undefined, 'old cache entry not misread');
  t.equal(store.urlSpecs.get('http://127.0.0.1/s'), undefined);
  t.equal(store.embeddings.get('prompt'), undefined);
  t.equal(store.endpointEmbeddings.get('h'), undefined);
  t.same(store.stats().predictions.size + store.stats().embeddings.size + store.stats().urlSpecs.size, 0, 'caches cleared');
  t.same(store.budgetDb.get('2026-01-01'), { spentUsd: 3 }, 'budget left to its owner');

  // Writing continues on the migrated counts.
  await store.transitions.addSequence('pet', ['GET /a', 'GET /b']);
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 8);
  await store.close();
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION, 'stamped after migrating');
  });
  t.same(openTemp(t, dir).schema, { found: SCHEMA_VERSION, migrated: false, dropped: 0 }, 'migrates once');
});

t.test('a schema-1 data dir: durable records restamped, caches cleared, answers then stored compressed', async (t) => {
  const dir = tempDir(t);
  const c = clock();
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', 1);
    await db('specs').put('pet', { ...spec('pet'), v: 1 });
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /b'], [1, 4]);
    await db('transitions').put(['pet', 'u', 'GET /a'], [1, 4]);
    await db('training_log').put(1, { v: 1, specId: 'pet', calls: ['GET /a', 'GET /b'], at: 5 });
    // Written uncompressed by version 1: a compressed reader must never see it.
    await db('predictions').put('req', { v: 1, e: c.now() + 86_400_000, d: 'x'.repeat(2000) });
  });
  const store = openTemp<string>(t, dir, { now: c.now });
  t.same(store.schema, { found: 1, migrated: true, dropped: 0 });
  t.same(store.specs.get('pet'), spec('pet'), 'spec carried over');
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 4, 'counts carried over');
  t.same([...store.trainingLog.iterate()], [{ seq: 1, specId: 'pet', calls: ['GET /a', 'GET /b'], at: 5 }]);
  t.equal(store.predictions.get('req'), undefined, 'the old cache is gone');
  const answer = JSON.stringify({ predictions: Array.from({ length: 20 }, (_, i) => ({ api_call: `GET /pets/{petId}/visits/${i}`, confidence: 0.5 })) });
  await store.predictions.put('req', answer, 60);
  await store.close();
  const again = openTemp<string>(t, dir, { now: c.now });
  t.equal(again.predictions.get('req'), answer, 'a compressed answer reads back whole');
  await again.close();
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION);
    const stored = (db('predictions') as unknown as { getBinary(k: string): Buffer }).getBinary('req');
    t.ok(stored.length < answer.length / 2, `stored ${stored.length} bytes for ${answer.length} of JSON`);
  });
});

/** A real /predict answer (helpdesk spec) as the cache stores it: cut at request_id and cache_hit. */
function helpdeskTemplate(): [string, string, string] {
  const text = fs.readFileSync(path.join(FIXTURES, 'answer-helpdesk.json'), 'utf8').trim();
  const rid = text.indexOf('"request_id":') + '"request_id":'.length;
  const hit = text.indexOf('"cache_hit":') + '"cache_hit":'.length;
  return [text.slice(0, rid), text.slice(text.indexOf(',', rid), hit), text.slice(text.indexOf(',', hit), text.lastIndexOf(',"processing_time_ms"'))];
}

t.test('a schema-2 data dir: answers compressed against the old dictionary are cleared, durable records restamped', async (t) => {
  const dir = tempDir(t);
  const c = clock();
  const template = helpdeskTemplate();
  const jsonBytes = template.join('').length;
  let oldStored = 0;
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', 2);
    await db('specs').put('pet', { ...spec('pet'), v: 2 });
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /b'], [2, 4]);
    await db('jobs').put('j1', { ...job('j1', 5, 'succeeded'), v: 2 });
    // As schema 2 wrote answers: LZ4 with lmdb-js's default dictionary.
    const root = open({ path: dir, maxDbs: 16 });
    const old = root.openDB({ name: 'predictions', encoding: 'msgpack', compression: { threshold: 256 } });
    await old.put('req', { v: 2, e: c.now() + 86_400_000, d: template });
    await root.close();
  });
  // Read without a compression option: the bytes as stored.
  await withRaw(dir, async (db) => {
    oldStored = (db('predictions') as unknown as { getBinary(k: string): Buffer }).getBinary('req').length;
  });
  const store = openTemp<[string, string, string]>(t, dir, { now: c.now });
  t.same(store.schema, { found: 2, migrated: true, dropped: 0 });
  t.same(store.specs.get('pet'), spec('pet'), 'spec carried over');
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 4, 'counts carried over');
  t.same(store.jobs.get('j1'), job('j1', 5, 'succeeded'), 'job carried over');
  t.equal(store.predictions.get('req'), undefined, 'answers of the old dictionary are gone, not misread');
  await store.predictions.put('req', template, 60);
  await store.close();
  const again = openTemp<[string, string, string]>(t, dir, { now: c.now });
  t.same(again.predictions.get('req'), template, 'an answer compressed against answer-dictionary.ts reads back whole');
  await again.close();
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION);
    const stored = (db('predictions') as unknown as { getBinary(k: string): Buffer }).getBinary('req').length;
    // ~0.21 of the JSON here; lmdb-js's default dictionary gave ~0.5.
    t.ok(stored < jsonBytes * 0.35, `stored ${stored} bytes for ${jsonBytes} of JSON (schema 2 stored ${oldStored})`);
    t.ok(stored < oldStored * 0.7, 'well under what the default dictionary gave');
  });
});

t.test('the answer dictionary is pinned to the schema version', async (t) => {
  // Records compressed against one dictionary do not decompress against another. If this
  // fails because answer-dictionary.ts changed: bump SCHEMA_VERSION, add its migration
  // step (which clears the caches), and pin the new hash here.
  const sha = createHash('sha256').update(ANSWER_DICTIONARY).digest('hex');
  t.same({ schema: SCHEMA_VERSION, sha }, { schema: 4, sha: '6d4b6bb7ff45da081ce7ec60eae0b46e192d176e4a09a991967227417b4e2737' });
});

t.test('a schema-3 data dir: answers stored as msgpack records are cleared, durable records restamped', async (t) => {
  const dir = tempDir(t);
  const c = clock();
  const template = helpdeskTemplate();
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', 3);
    await db('specs').put('pet', { ...spec('pet'), v: 3 });
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /b'], [3, 4]);
    await db('training_log').put(1, { v: 3, specId: 'pet', calls: ['GET /a', 'GET /b'], at: 1 });
    // As schema 3 wrote answers: a msgpack record, compressed against answer-dictionary.ts.
    const root = open({ path: dir, maxDbs: 16 });
    const old = root.openDB({ name: 'predictions', encoding: 'msgpack', compression: { threshold: 256, dictionary: ANSWER_DICTIONARY } });
    await old.put('req', { v: 3, e: c.now() + 86_400_000, d: template });
    await root.close();
  });
  const store = openTemp<[string, string, string]>(t, dir, { now: c.now });
  t.same(store.schema, { found: 3, migrated: true, dropped: 0 });
  t.same(store.specs.get('pet'), spec('pet'), 'spec carried over');
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 4, 'counts carried over');
  t.equal([...store.trainingLog.iterate()].length, 1, 'training log carried over');
  t.equal(store.predictions.get('req'), undefined, 'the old record is gone, not misread');
  t.equal(store.stats().predictions.size, 0, 'caches cleared');
  await store.predictions.put('req', template, 60);
  await store.close();
  const again = openTemp<[string, string, string]>(t, dir, { now: c.now });
  t.same(again.predictions.get('req'), template, 'an answer written as a frame reads back whole');
  await again.close();
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION);
    t.equal((db('specs').get('pet') as { v: number }).v, SCHEMA_VERSION, 'restamped');
  });
});

t.test('TTL cache frames: the expiry is read from the header, never from the value', async (t) => {
  const frame = encodeTtlFrame(1234.5, { answer: ['a', 1, null], nested: { x: true } });
  t.equal(frame[0], SCHEMA_VERSION);
  t.equal(frameExpiry(frame), 1234.5);
  t.equal(frameExpiry(frame.subarray(0, TTL_HEADER_BYTES)), -Infinity, 'a header without a value');
  t.equal(frameExpiry(Buffer.from(frame).fill(SCHEMA_VERSION + 1, 0, 1)), -Infinity, 'another schema version');
  t.equal(frameExpiry(encodeTtlFrame(NaN, 1)), -Infinity, 'an expiry that is not a number');
  t.equal(frameExpiry({ v: SCHEMA_VERSION, e: 5, d: 1 }), -Infinity, 'an object record of the old layout');
  t.equal(frameExpiry(undefined), -Infinity);

  // On disk: a frame whose header is sound but whose value does not decode is a miss for
  // get(), and the sweep goes by the header alone, so it leaves when its expiry passes.
  const dir = tempDir(t);
  const c = clock();
  const store = openTemp<string>(t, dir, { now: c.now });
  await store.predictions.put('good', 'kept', 60);
  const bad = Buffer.alloc(TTL_HEADER_BYTES + 4);
  bad[0] = SCHEMA_VERSION;
  bad.writeDoubleLE(c.now() + 30_000, 8);
  bad.set([0xc1, 0xc1, 0xc1, 0xc1], TTL_HEADER_BYTES); // 0xc1: never used in msgpack
  await store.close();
  const raw = open({ path: dir, maxDbs: 16 });
  await raw.openDB({ name: 'predictions', encoding: 'binary' }).put('bad', bad);
  await raw.close();
  const again = openTemp<string>(t, dir, { now: c.now });
  t.equal(again.predictions.get('bad'), undefined, 'undecodable value: a miss');
  t.equal(again.predictions.get('good'), 'kept');
  t.equal(await again.cleanupExpired(), 0, 'both headers say live');
  c.advance(31_000);
  t.equal(await again.cleanupExpired(), 1, 'the bad one expires by its header');
  t.equal(again.predictions.get('good'), 'kept');
});

t.test('data without any schema stamp counts as schema 0', async (t) => {
  const dir = tempDir(t);
  await withRaw(dir, async (db) => {
    await db('specs').put('pet', { ...spec('pet') });
    await db('predictions').put('req', { v: 1, e: Date.now() + 1e9, d: 1 });
  });
  t.throws(() => openStore({ path: dir, readOnly: true }), { code: 'STORE_NOT_INITIALISED' }, 'a reader will not guess');
  const store = openTemp(t, dir);
  t.equal(store.schema.found, 0);
  t.same(store.specs.get('pet'), spec('pet'));
  t.equal(store.predictions.get('req'), undefined);
});

t.test('records of another version read as misses, never misread', async (t) => {
  const dir = tempDir(t);
  const c = clock();
  const first = openStore({ path: dir });
  await first.close();
  const far = c.now() + 86_400_000;
  await withRaw(dir, async (db) => {
    const v = SCHEMA_VERSION + 1;
    await db('specs').put('pet', { ...spec('pet'), v });
    await db('predictions').put('req', { v, e: far, d: 'future' });
    await db('url_specs').put('http://127.0.0.1/', { v, e: far, d: { raw: 'x', fetchedAt: 1 } });
    await db('transitions').put(['pet', 'b', 'GET /a', 'GET /b'], [v, 9]);
    await db('training_log').put(1, { v, specId: 'pet', calls: [], at: 1 });
    await db('jobs').put('j', { ...job('j', 1), v });
    const vec = Buffer.alloc(20);
    vec[0] = v;
    vec.writeUInt32LE(1, 4);
    await db('embeddings').put('e', vec);
  });
  const store = openTemp(t, dir, { now: c.now });
  t.equal(store.specs.get('pet'), undefined);
  t.same(store.specs.list(), []);
  t.equal(store.predictions.get('req'), undefined);
  t.equal(store.urlSpecs.get('http://127.0.0.1/'), undefined);
  t.equal(store.transitions.bigram('pet', 'GET /a', 'GET /b'), 0);
  t.equal(store.transitions.snapshot('pet').bigrams.size, 0);
  t.same([...store.trainingLog.iterate()], []);
  t.equal(store.jobs.get('j'), undefined);
  t.equal(store.embeddings.get('e'), undefined);
  t.equal(await store.cleanupExpired(), 3, 'unreadable cache records are swept too');
});

t.test('a data dir from a newer schema is refused, and left untouched', async (t) => {
  const dir = tempDir(t);
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', SCHEMA_VERSION + 1);
    await db('specs').put('pet', { v: SCHEMA_VERSION + 1, shape: 'unknown to us' });
    await db('predictions').put('req', { v: SCHEMA_VERSION + 1, whatever: true });
  });
  t.throws(() => openStore({ path: dir }), { code: 'STORE_SCHEMA_TOO_NEW', message: /newer than this code/ });
  t.throws(() => openStore({ path: dir, readOnly: true }), { code: 'STORE_SCHEMA_TOO_NEW' });
  await withRaw(dir, async (db) => {
    t.equal(db('meta').get('schema_version'), SCHEMA_VERSION + 1);
    t.same(db('specs').get('pet'), { v: SCHEMA_VERSION + 1, shape: 'unknown to us' });
    t.ok(db('predictions').get('req'), 'caches not cleared either');
  });
});

t.test('a read-only opener refuses an old schema: only the writer migrates', async (t) => {
  const dir = tempDir(t);
  await withRaw(dir, async (db) => {
    await db('meta').put('schema_version', 0);
  });
  t.throws(() => openStore({ path: dir, readOnly: true }), { code: 'STORE_NEEDS_MIGRATION' });
  openTemp(t, dir);
  t.equal(openTemp(t, dir, { readOnly: true }).readOnly, true, 'fine once migrated');
});

t.test('a closed store rejects writes; close is idempotent', async (t) => {
  const store = openStore({ path: tempDir(t) });
  const closing = store.close();
  t.equal(store.close(), closing);
  await closing;
  await t.rejects(store.predictions.put('k', 1, 1), { code: 'STORE_CLOSED' });
  await t.rejects(store.transitions.addSequence('s', ['a', 'b']), { code: 'STORE_CLOSED' });
});

t.test('prediction cache is trimmed to its bound, oldest entries first', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-trim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let clock = 1_000_000;
  const store = openStore<number>({ path: dir, now: () => clock, maxPredictionEntries: 100 });
  t.teardown(() => store.close());
  for (let i = 0; i < 250; i++) {
    clock += 1000;
    await store.predictions.put(`k${i}`, i, 3600);
  }
  const removed = await store.cleanupExpired();
  t.equal(removed, 160, 'down to 90 % of the bound');
  t.equal(store.stats().predictions.size, 90);
  t.equal(store.predictions.get('k0'), undefined, 'oldest gone');
  t.equal(store.predictions.get('k249'), 249, 'newest kept');
  t.equal(store.predictions.get('k160'), 160, 'the 90 newest are kept');
  t.equal(store.predictions.get('k159'), undefined);
});

t.test('enforceBounds trims the caches that are over their bounds, in steps that let the event loop run', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-trim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let clock = 1_000_000;
  const store = openStore<number>({ path: dir, now: () => clock, maxPredictionEntries: 4000, maxEmbeddingEntries: 100 });
  t.teardown(() => store.close());
  // Each put takes its expiry from the clock when called: one tick apart, oldest first.
  const putRange = (from: number, to: number) =>
    Promise.all(Array.from({ length: to - from }, (_, j) => ((clock += 1), store.predictions.put(`k${String(from + j).padStart(5, '0')}`, from + j, 3600))));
  await putRange(0, 3999);
  await store.embeddings.put('e', new Float32Array([1]), 3600);
  t.equal(await store.enforceBounds(), 0, 'under both bounds: nothing to do');
  await putRange(3999, 5000);
  const removed = await store.enforceBounds();
  t.equal(removed, 5000 - 3600, 'down to 90 % of the bound');
  t.equal(store.stats().predictions.size, 3600);
  t.equal(store.predictions.get('k04999'), 4999, 'newest kept');
  t.equal(store.stats().embeddings.size, 1, 'the embedding cache, under its bound, is left alone');
});

t.test('a trim reads and removes in steps of at most 250 entries, with the event loop running in between', async (t) => {
  const dir = tempDir(t);
  const root = open({ path: dir, maxDbs: 4 });
  t.teardown(() => root.close());
  const db = root.openDB<{ e: number }, string>({ name: 'c', encoding: 'msgpack' });
  await root.transaction(() => {
    for (let i = 0; i < 5000; i++) db.putSync(`k${String(i).padStart(5, '0')}`, { e: i });
  });
  const ctx = { root, readOnly: false, now: () => 0, closed: false, cacheWrites: new WriteBehind(1, 1) };
  // Entries looked at per event-loop turn, over the read pass and the removal pass.
  let turn = 0;
  let seenThisTurn = 0;
  let most = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    seenThisTurn = 0;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const { removed } = await trimByExpiry(ctx, db, 4000, (v) => {
    most = Math.max(most, ++seenThisTurn);
    return v.e;
  });
  ticking = false;
  t.equal(removed, 1400, 'down to 90 % of the bound, soonest expiry first');
  t.equal(db.get('k01399'), undefined);
  t.same(db.get('k01400'), { e: 1400 });
  t.ok(most <= 250, `at most 250 entries in one turn (most: ${most}, over ${turn} turns)`);
});

t.test('ExpiryIndex pops the soonest expiry first and drops items expired before a write', async (t) => {
  const rng = (() => {
    let x = 12345;
    return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  })();
  const index = new ExpiryIndex(false);
  t.equal(index.isComplete, false);
  const expiries = Array.from({ length: 500 }, () => Math.floor(rng() * 1000) + 100);
  expiries.forEach((e, i) => index.push(`k${i}`, e, 0));
  t.equal(index.size, 500);
  const popped: number[] = [];
  for (let item = index.pop(); item; item = index.pop()) popped.push(item.expiry);
  t.same(popped, [...expiries].sort((a, b) => a - b), 'ascending expiry');
  index.push('a', 10, 0);
  index.push('b', 20, 0);
  index.push('c', 5000, 15);
  t.equal(index.size, 2, 'the item that expired before the write is gone');
  t.same(index.pop(), { key: 'b', expiry: 20 });
  index.adopt(['x', 'y'], [7000, 6000], 0);
  t.equal(index.isComplete, true);
  t.same([index.pop()?.key, index.pop()?.key, index.pop()?.key], ['c', 'y', 'x']);
});

t.test('a trim by the index reads only the entries it removes, and skips stale items', async (t) => {
  const dir = tempDir(t);
  const root = open({ path: dir, maxDbs: 4 });
  t.teardown(() => root.close());
  const db = root.openDB<{ e: number }, string>({ name: 'c', encoding: 'msgpack' });
  const index = new ExpiryIndex(true);
  const key = (i: number) => `k${String(i).padStart(5, '0')}`;
  await root.transaction(() => {
    for (let i = 0; i < 5000; i++) {
      db.putSync(key(i), { e: i });
      index.push(key(i), i, -1);
    }
    // Written again later (its first item is stale), and removed behind the index's back.
    db.putSync(key(3), { e: 9000 });
    index.push(key(3), 9000, -1);
    db.removeSync(key(5));
  });
  const ctx = { root, readOnly: false, now: () => 0, closed: false, cacheWrites: new WriteBehind(1, 1) };
  let reads = 0;
  const { removed } = await trimByIndex(ctx, db, index, 4000, (v) => (reads++, v.e));
  // 4999 entries: 1399 over 3600. Items k0..k1400 minus stale k3 and k5: 1399 removed.
  t.equal(removed, 4999 - 3600, 'down to 90 % of the bound');
  t.equal(reads, 1399 + 1, 'read: the removed entries and the rewritten one, not the 3,600 kept');
  t.equal(db.get(key(1400)), undefined, 'soonest expiries gone');
  t.same(db.get(key(1401)), { e: 1401 }, 'the rest kept');
  t.same(db.get(key(3)), { e: 9000 }, 'the rewritten entry kept: its old item was stale');
});

t.test('a cache opened on existing entries is trimmed by a scan once, then by its index', async (t) => {
  const dir = tempDir(t);
  let clock = 1_000_000;
  const first = openStore<number>({ path: dir, now: () => clock, maxPredictionEntries: 100 });
  for (let i = 0; i < 80; i++) {
    clock += 10;
    await first.predictions.put(`k${i}`, i, 3600);
  }
  await first.close();
  const store = openTemp<number>(t, dir, { now: () => clock });
  for (let i = 80; i < 150; i++) {
    clock += 10;
    await store.predictions.put(`k${i}`, i, 3600);
  }
  t.equal(await store.predictions.trimTo(100), 60, 'a scan: 150 -> 90');
  t.equal(store.predictions.get('k59'), undefined);
  t.equal(store.predictions.get('k60'), 60);
  for (let i = 150; i < 200; i++) {
    clock += 10;
    await store.predictions.put(`k${i}`, i, 3600);
  }
  t.equal(await store.predictions.trimTo(100), 50, 'by the index: 140 -> 90, oldest writes (from before the reopen) first');
  t.equal(store.predictions.get('k109'), undefined);
  t.equal(store.predictions.get('k110'), 110);
  t.equal(store.predictions.get('k199'), 199);
});

t.test('answers in memory: admitted when read back, never served stale after an overwrite', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-lru-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = openStore<string>({ path: dir, predictionMemoryEntries: 2 });
  t.teardown(() => store.close());
  await store.predictions.put('a', 'first', 60);
  t.equal(store.predictions.get('a'), 'first');
  t.equal(store.predictions.get('a'), 'first', 'read again (now from memory)');
  await store.predictions.put('a', 'second', 60);
  t.equal(store.predictions.get('a'), 'second', 'the overwrite wins over the remembered copy');
  for (const k of ['b', 'c', 'd']) await store.predictions.put(k, k, 60);
  for (const k of ['b', 'c', 'd']) t.equal(store.predictions.get(k), k, 'more keys than memory holds still read back from LMDB');
  t.equal(store.predictions.get('a'), 'second');
});

t.test('prompt-embedding cache is trimmed to its bound: soonest expiry first, no-TTL entries last', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-trim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let clock = 1_000_000;
  const store = openStore({ path: dir, now: () => clock, maxEmbeddingEntries: 50 });
  t.teardown(() => store.close());
  await store.embeddings.put('forever', new Float32Array([9, 9]));
  for (let i = 0; i < 120; i++) {
    clock += 1000;
    await store.embeddings.put(`e${i}`, new Float32Array([i, 1]), 3600);
  }
  t.equal(await store.cleanupExpired(), 121 - 45, 'down to 90 % of the bound');
  t.equal(store.stats().embeddings.size, 45);
  t.same(Array.from(store.embeddings.get('forever')!), [9, 9], 'an entry without a TTL outlives the rest');
  t.same(Array.from(store.embeddings.get('e119')!), [119, 1], 'newest kept');
  t.ok(store.embeddings.get('e76'), 'the 44 newest with a TTL are kept');
  t.equal(store.embeddings.get('e75'), undefined);
  t.equal(store.embeddings.get('e0'), undefined, 'oldest gone');
});
