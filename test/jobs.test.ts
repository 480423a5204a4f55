/**
 * Background jobs on a real server: a tiny training run in a child process, progress in
 * LMDB, the model hot-swapped into the workers (and into the cache key), 409 while busy,
 * generate-data output, refused models, and job records across restarts. Every server
 * here trains into a temp copy of the ranker: models/ranker.json is never written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { openStore } from '../store';
import { ModelRefusedError, swapModel } from '../server/jobs';
import { startTestServer, type TestServer } from './helpers/server';

const COMMITTED_RANKER = path.join(__dirname, '..', 'models', 'ranker.json');
/** Finishes in a few seconds: bundled specs only, 5 trees. */
const TINY_TRAIN = { count: 60, seed: 7, directory_sample: 0, n_estimators: 5 };
const PROMPT = { prompt: 'update the shipping address of this order', max_predictions: 3, spec_id: 'shop' };

/** A temp dir holding a copy of the committed ranker (when there is one) as the server's model. */
function rankerDir(t: Test): { dir: string; rankerPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-jobs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rankerPath = path.join(dir, 'ranker.json');
  if (fs.existsSync(COMMITTED_RANKER)) fs.copyFileSync(COMMITTED_RANKER, rankerPath);
  return { dir, rankerPath };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The prediction cache is written after the response, so ask again until the entry has landed. */
async function predictCached(s: TestServer, body: object): Promise<any> {
  for (let i = 0; ; i++) {
    const r = await s.post('/predict', body);
    if (r.json.metadata.performance_metrics.cache_hit === true || i === 50) return r.json;
    await sleep(20);
  }
}

/** Poll GET /jobs/:id until the job is final; returns every observed record. */
async function waitForJob(s: TestServer, id: string, timeoutMs = 45_000): Promise<any[]> {
  const seen: any[] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await s.get(`/jobs/${id}`);
    if (r.status !== 200) throw new Error(`GET /jobs/${id} answered ${r.status}`);
    seen.push(r.json);
    if (r.json.status === 'succeeded' || r.json.status === 'failed') return seen;
    if (Date.now() > until) throw new Error(`job ${id} still ${r.json.status} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

t.test('jobs on one server', async (t) => {
  const { rankerPath } = rankerDir(t);
  const s = await startTestServer(t, { rankerPath });

  await t.test('bad bodies and unknown ids', async (t) => {
    for (const body of [{ count: 5 }, { count: 100_001 }, { n_estimators: 0 }, { learning_rate: 0 }, { from_feedback: 'yes' }, { colour: 'blue' }, { count: 12.5 }]) {
      const r = await s.post('/train', body);
      t.equal(r.status, 400, `POST /train ${JSON.stringify(body)}`);
      t.equal(r.json.error.code, 'VALIDATION_FAILED');
    }
    const notJson = await s.post('/train', '{"count":');
    t.equal(notJson.status, 400);
    t.equal(notJson.json.error.code, 'INVALID_JSON');
    const wrongType = await s.raw('/generate-data', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'count=10' });
    t.equal(wrongType.status, 415);
    const gen = await s.post('/generate-data', { count: 0 });
    t.equal(gen.status, 400);
    const unknown = await s.get('/jobs/unknown');
    t.equal(unknown.status, 404);
    t.equal(unknown.json.error.code, 'JOB_NOT_FOUND');
    const badLimit = await s.get('/jobs?limit=0');
    t.equal(badLimit.status, 400);
    t.same((await s.get('/jobs')).json, { jobs: [], active_job: null }, 'no job was started by refused requests');
  });

  let trainId = '';
  let newVersion = '';
  await t.test('train: progress, 409 while busy, hot swap and cache', async (t) => {
    const before = await s.post('/predict', PROMPT);
    t.equal(before.status, 200);
    const oldVersion: string = before.json.metadata.model_version;
    const cachedBefore = await predictCached(s, PROMPT);
    t.equal(cachedBefore.metadata.performance_metrics.cache_hit, true, 'cached under the old model');
    t.equal(cachedBefore.metadata.model_version, oldVersion);

    // Logged sequences join the synthetic ones with from_feedback (read by the job process).
    const fb = await s.post('/feedback', {
      spec_id: 'shop',
      events: [{ api_call: '/products/search', method: 'GET' }, { api_call: '/products/42', method: 'GET' }, { api_call: '/cart/items', method: 'POST' }, { api_call: '/checkout', method: 'POST' }],
    });
    t.equal(fb.status, 202);

    const started = await s.post('/train', { ...TINY_TRAIN, from_feedback: true });
    t.equal(started.status, 202);
    trainId = started.json.job_id;
    t.match(trainId, /^[0-9a-f]{12}$/);
    t.equal(started.headers.get('location'), `/jobs/${trainId}`);
    t.match(started.json.params, { ...TINY_TRAIN, from_feedback: true });

    const busy = await s.post('/generate-data', { count: 10 });
    t.equal(busy.status, 409);
    t.equal(busy.json.error.code, 'JOB_ALREADY_RUNNING');
    t.match(busy.json.error.message, trainId, 'names the running job');
    t.equal((await s.post('/train', {})).status, 409);
    t.equal((await s.get('/jobs')).json.active_job, trainId);

    const seen = await waitForJob(s, trainId);
    const final = seen[seen.length - 1];
    t.equal(final.status, 'succeeded', final.error ?? '');
    t.equal(final.progress, 1);
    const progress = seen.map((j) => j.progress as number);
    t.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress never goes back');
    t.ok(new Set(progress).size >= 3, `progress moved through several values (${[...new Set(progress)].join(', ')})`);
    t.ok(seen.some((j) => j.status === 'running' && j.progress > 0 && j.progress < 1), 'observed mid-run');
    t.ok(new Set(seen.map((j) => j.stage)).size >= 3, 'stages reported');
    t.ok(final.started_at && final.finished_at && final.duration_ms >= 0);

    const r = final.result;
    newVersion = r.model_version;
    t.match(newVersion, /^ranker-/);
    t.not(newVersion, oldVersion);
    t.equal(r.previous_model_version, oldVersion);
    t.equal(r.ndcg_at, 3);
    t.ok(r.metrics.valid_ndcg_at_k > 0 && r.metrics.valid_ndcg_at_k <= 1, 'valid NDCG@3 in (0, 1]');
    t.equal(r.feedback_workflows, 1, 'the logged sequence was used');
    t.equal(r.workflows, TINY_TRAIN.count + 1);
    t.equal(JSON.parse(fs.readFileSync(rankerPath, 'utf8')).model_version, newVersion, 'swapped into the configured path');
    t.notOk(fs.existsSync(`${rankerPath}.tmp`), 'temp file renamed away');
    t.ok(fs.existsSync(r.report_path), 'training report written');

    const after = await s.post('/predict', PROMPT);
    t.equal(after.json.metadata.model_version, newVersion, 'workers serve the new model without a restart');
    t.equal(after.json.metadata.performance_metrics.cache_hit, false, 'no stale cache hit across the swap');
    const again = await predictCached(s, PROMPT);
    t.equal(again.metadata.performance_metrics.cache_hit, true, 'cached under the new model');
    t.equal(again.metadata.model_version, newVersion);
    t.equal((await s.get('/')).json.model_version, newVersion);
  });

  await t.test('generate-data writes the requested workflows as JSONL', async (t) => {
    const started = await s.post('/generate-data', { count: 25, seed: 3, directory_sample: 0 });
    t.equal(started.status, 202);
    const id = started.json.job_id;
    const final = (await waitForJob(s, id)).pop();
    t.equal(final.status, 'succeeded', final.error ?? '');
    t.equal(final.result.count, 25);
    t.equal(final.result.path, path.join(s.dataDir, 'generated', `${id}.jsonl`));
    const lines = fs.readFileSync(final.result.path, 'utf8').trimEnd().split('\n');
    t.equal(lines.length, 25);
    for (const line of lines) {
      const wf = JSON.parse(line);
      t.ok(typeof wf.specId === 'string' && typeof wf.goal === 'string' && wf.steps.length >= 1, 'a workflow per line');
    }
    t.equal(final.result.bytes, fs.statSync(final.result.path).size);

    const list = (await s.get('/jobs')).json;
    t.same(list.jobs.map((j: { id: string }) => j.id), [id, trainId], 'newest first');
    t.equal(list.active_job, null);
    t.equal((await s.get('/jobs?limit=1')).json.jobs.length, 1);
  });

  await t.test('a refused model leaves the previous one serving', async (t) => {
    const garbage = path.join(path.dirname(rankerPath), 'garbage.json');
    fs.writeFileSync(garbage, '{"format":"opensesame-gbdt","format_version":1,"trees":"nope"}');
    await t.rejects(swapModel(s.server.ctx, garbage), ModelRefusedError);
    t.equal(JSON.parse(fs.readFileSync(rankerPath, 'utf8')).model_version, newVersion, 'model file untouched');
    const p = await s.post('/predict', { ...PROMPT, prompt: 'cancel that order' });
    t.equal(p.json.metadata.model_version, newVersion);

    // A training job whose output cannot be written fails as a job, and nothing is swapped.
    fs.mkdirSync(`${rankerPath}.tmp`);
    t.teardown(() => fs.rmSync(`${rankerPath}.tmp`, { recursive: true, force: true }));
    const started = await s.post('/train', { ...TINY_TRAIN, count: 10, seed: 8 });
    t.equal(started.status, 202);
    const final = (await waitForJob(s, started.json.job_id)).pop();
    t.equal(final.status, 'failed');
    t.match(final.error, /EISDIR|directory/i);
    t.equal(final.result, undefined);
    const q = await s.post('/predict', { ...PROMPT, prompt: 'show me the order' });
    t.equal(q.json.metadata.model_version, newVersion, 'previous model still serving');
    t.equal((await s.post('/generate-data', { count: 10, directory_sample: 0 })).status, 202, 'a failed job frees the runner');
  });
});

t.test('job records across shutdown and restart', async (t) => {
  const { dir, rankerPath } = rankerDir(t);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);

  const a = await startTestServer(t, { rankerPath }, {}, { keepDataDir: dataDir });
  // Big enough to still be running when the server stops.
  const started = await a.post('/train', { count: 20_000, directory_sample: 0, n_estimators: 5 });
  t.equal(started.status, 202);
  const id = started.json.job_id;
  for (let i = 0; i < 500; i++) {
    if ((await a.get(`/jobs/${id}`)).json.status === 'running') break;
    await sleep(20);
  }
  await a.server.close();
  t.notOk(fs.existsSync(`${rankerPath}.tmp`), 'no half-written model left behind');

  // A server that died mid-job leaves a "running" record behind; simulate one.
  const store = openStore({ path: dataDir });
  const now = Date.now();
  await store.jobs.put('deadbeef0001', { id: 'deadbeef0001', kind: 'train', status: 'running', progress: 0.4, createdAt: now, updatedAt: now });
  await store.close();

  const b = await startTestServer(t, { rankerPath }, {}, { keepDataDir: dataDir });
  const stopped = (await b.get(`/jobs/${id}`)).json;
  t.equal(stopped.status, 'failed');
  t.match(stopped.error, /interrupted: the server shut down/);
  const crashed = (await b.get('/jobs/deadbeef0001')).json;
  t.equal(crashed.status, 'failed');
  t.match(crashed.error, /interrupted/);
  t.same(new Set((await b.get('/jobs')).json.jobs.map((j: { id: string }) => j.id)), new Set([id, 'deadbeef0001']), 'listed after restart');
  t.equal((await b.post('/generate-data', { count: 10, directory_sample: 0 })).status, 202, 'nothing is considered running');
  await b.server.close();
});
