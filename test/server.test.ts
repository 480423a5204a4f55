import fs from 'node:fs';
import net from 'node:net';
import t from 'tap';
import YAML from 'yaml';
import { startTestServer } from './helpers/server';

const TMDB = '../shared/data/restbench-tmdb/tmdb_oas.json';

t.test('foundation routes on a real server', async (t) => {
  const s = await startTestServer(t);

  await t.test('GET / describes the service', async (t) => {
    const r = await s.get('/');
    t.equal(r.status, 200);
    t.equal(r.json.status, 'ok');
    t.ok(r.headers.get('x-request-id'), 'request id header');
    t.same(r.json.specs.sort(), ['helpdesk', 'saas', 'shop']);
  });

  await t.test('GET /health reports components', async (t) => {
    const r = await s.get('/health');
    t.equal(r.status, 200);
    t.match(r.json.status, /^(ok|degraded)$/);
    t.equal(r.json.components.store.status, 'ok');
    t.equal(r.json.components.pool.status, 'ok');
    t.equal(r.json.components.embedding_model.loaded, true);
    t.ok(r.json.components.embedding_model.dimensions > 0);
    t.equal(r.json.components.specs.count, 3);
  });

  await t.test('POST /predict answers from a bundled spec', async (t) => {
    const r = await s.post('/predict', { prompt: 'create a new user account', max_predictions: 3 });
    t.equal(r.status, 200);
    t.equal(r.json.predictions.length, 3);
    t.equal(r.json.predictions[0].api_call, 'POST /users');
    for (const [i, p] of r.json.predictions.entries()) {
      t.equal(p.rank, i + 1);
      t.match(p.api_call, /^(GET|POST|PUT|PATCH|DELETE) \//);
      t.ok(p.confidence >= 0 && p.confidence <= 1);
      t.equal(typeof p.ml_ranking_score, 'number');
      t.equal(p.safety_validated, true);
      t.equal(p.cold_start_prediction, true);
    }
    t.same(r.json.confidence_scores, r.json.predictions.map((p: { confidence: number }) => p.confidence));
    t.equal(r.json.metadata.spec_id, 'saas');
    t.ok(r.json.metadata.performance_metrics.candidates_generated >= 5, 'k + buffer candidates ranked');
    t.equal(typeof r.json.processing_time_ms, 'number');
  });

  await t.test('history values fill parameters and steer the ranking', async (t) => {
    const r = await s.post('/predict', {
      prompt: 'update this user',
      history: [{ api_call: '/users/123', method: 'GET' }],
      max_predictions: 3,
    });
    t.equal(r.status, 200);
    const put = r.json.predictions.find((p: { api_call: string }) => /^(PUT|PATCH) \/users\/\{userId\}$/.test(p.api_call));
    t.ok(put, 'an update of the user is predicted');
    t.same(put.parameters, { userId: '123' });
    t.equal(r.json.metadata.cold_start_analysis.resolved_history, 1);
  });

  await t.test('unmatched history is reported, not an error', async (t) => {
    const r = await s.post('/predict', { prompt: 'list projects', history: [{ api_call: 'GET /nothing/here' }] });
    t.equal(r.status, 200);
    t.same(r.json.metadata.cold_start_analysis.unmatched_history, ['GET /nothing/here']);
  });

  await t.test('max_predictions bounds the answer; never outside the catalog', async (t) => {
    const catalog = await s.get('/specs/shop');
    const ids = new Set(catalog.json.endpoint_list.map((e: { api_call: string }) => e.api_call));
    const r = await s.post('/predict', { prompt: 'add a product to my cart', max_predictions: 20, spec_id: 'shop' });
    t.equal(r.json.predictions.length, 20);
    for (const p of r.json.predictions) t.ok(ids.has(p.api_call), p.api_call);
    const one = await s.post('/predict', { prompt: 'add a product to my cart', max_predictions: 1, spec_id: 'shop' });
    t.equal(one.json.predictions.length, 1);
  });

  await t.test('spec lifecycle: upload TMDB, predict with it, list, get, delete', async (t) => {
    const up = await s.raw('/specs?spec_id=tmdb', { method: 'POST', headers: { 'content-type': 'application/json' }, body: fs.readFileSync(TMDB) });
    t.equal(up.status, 201);
    const body = (await up.json()) as any;
    t.equal(body.spec_id, 'tmdb');
    t.equal(body.endpoints, 54);
    const p = await s.post('/predict', { prompt: 'search for a movie by its title', spec_id: 'tmdb' });
    t.equal(p.status, 200);
    const tmdb = JSON.parse(fs.readFileSync(TMDB, 'utf8'));
    for (const pred of p.json.predictions) {
      const [method, path] = pred.api_call.split(' ');
      t.ok(tmdb.paths[path]?.[method.toLowerCase()], `${pred.api_call} is a TMDB endpoint`);
    }
    const list = await s.get('/specs');
    t.ok(list.json.specs.some((x: { spec_id: string }) => x.spec_id === 'tmdb'));
    const one = await s.get('/specs/tmdb');
    t.equal(one.json.endpoint_list.length, 54);
    t.ok(one.json.endpoint_list.some((e: { response_fields: string[] }) => e.response_fields.includes('results[].id')), 'response fields kept');
    const del = await s.raw('/specs/tmdb', { method: 'DELETE' });
    t.equal(del.status, 200);
    t.equal((await s.get('/specs/tmdb')).status, 404);
    t.equal((await s.post('/predict', { prompt: 'x', spec_id: 'tmdb' })).json.error.code, 'SPEC_NOT_FOUND');
  });

  await t.test('specs: OpenAPI 3.0 YAML, 3.1 JSON, Swagger 2.0, { spec } wrapper', async (t) => {
    const yamlDoc = YAML.stringify({
      openapi: '3.0.3', info: { title: 'Tiny Notes', version: '1' },
      paths: { '/notes': { get: { summary: 'List notes', responses: { '200': { description: 'ok' } } } }, '/notes/{noteId}': { get: { summary: 'Get a note', parameters: [{ name: 'noteId', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'ok' } } } } },
    });
    const y = await s.raw('/specs', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: yamlDoc });
    t.equal(y.status, 201);
    t.equal(((await y.json()) as any).format, 'openapi-3.0');
    const v31 = await s.post('/specs', { openapi: '3.1.0', info: { title: 'Tiny 31', version: '1' }, paths: { '/a': { get: { responses: { '200': { description: 'ok' } } } } } });
    t.equal(v31.status, 201);
    t.equal(v31.json.format, 'openapi-3.1');
    const sw = await s.post('/specs', { spec: { swagger: '2.0', info: { title: 'Tiny Swagger', version: '1' }, paths: { '/pets/{id}': { get: { parameters: [{ name: 'id', in: 'path', required: true, type: 'string' }], responses: { '200': { description: 'ok', schema: { type: 'object', properties: { id: { type: 'string' } } } } } } } } }, spec_id: 'pets' });
    t.equal(sw.status, 201);
    t.equal(sw.json.format, 'swagger-2.0');
    t.equal(sw.json.spec_id, 'pets');
  });

  await t.test('spec by URL is fetched and cached', async (t) => {
    const http = await import('node:http');
    let hits = 0;
    const doc = fs.readFileSync('specs/shop.json');
    const srv = http.createServer((_req, res) => {
      hits++;
      res.setHeader('content-type', 'application/json');
      res.end(doc);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.teardown(() => srv.close());
    const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/shop.json`;
    const a = await s.post('/specs', { url, spec_id: 'shop-url' });
    t.equal(a.status, 201);
    t.equal(a.json.source, 'url');
    const b = await s.post('/specs', { url, spec_id: 'shop-url' });
    t.equal(b.status, 201);
    t.equal(hits, 1, 'second upload served from the URL cache');
    const bad = await s.post('/specs', { url: 'http://127.0.0.1:1/none.json' });
    t.equal(bad.status, 400);
    t.equal(bad.json.error.code, 'SPEC_FETCH_FAILED');
  });

  await t.test('bad input gets a JSON error and the server keeps serving', async (t) => {
    const cases: [string, () => Promise<{ status: number; json: any }>, number, string][] = [
      ['malformed JSON', () => s.post('/predict', '{"prompt": "x",'), 400, 'INVALID_JSON'],
      ['empty body', () => s.post('/predict', ''), 400, 'INVALID_JSON'],
      ['wrong type', () => s.post('/predict', { prompt: 42 }), 400, 'VALIDATION_FAILED'],
      ['unknown field', () => s.post('/predict', { prompt: 'x', bogus: 1 }), 400, 'VALIDATION_FAILED'],
      ['max_predictions 0', () => s.post('/predict', { prompt: 'x', max_predictions: 0 }), 400, 'VALIDATION_FAILED'],
      ['max_predictions 21', () => s.post('/predict', { prompt: 'x', max_predictions: 21 }), 400, 'VALIDATION_FAILED'],
      ['history not an array', () => s.post('/predict', { prompt: 'x', history: 'GET /users' }), 400, 'VALIDATION_FAILED'],
      ['empty prompt', () => s.post('/predict', { prompt: '   ' }), 400, 'EMPTY_PROMPT'],
      ['prompt over the limit', () => s.post('/predict', { prompt: 'a'.repeat(4097) }), 400, 'PROMPT_TOO_LONG'],
      ['unknown spec_id', () => s.post('/predict', { prompt: 'list users', spec_id: 'nope' }), 404, 'SPEC_NOT_FOUND'],
      ['invalid spec', () => s.post('/specs', { openapi: '3.0.0', info: { title: 'broken', version: '1' }, paths: { '/x/{id}': { get: { responses: { '200': { description: 'ok' } } } } } }), 400, 'INVALID_SPEC'],
      ['strict mode refuses schema errors', () => s.post('/specs?strict=true', { openapi: '3.0.0', info: { title: 'loose', version: '1' }, paths: { '/x': { get: { cache: true, responses: { '200': { description: 'ok' } } } } } }), 400, 'INVALID_SPEC'],
      ['not a spec at all', () => s.post('/specs', { hello: 'world' }), 400, 'VALIDATION_FAILED'],
      ['unknown route', () => s.get('/nope'), 404, 'NOT_FOUND'],
      ['unknown spec', () => s.get('/specs/nope'), 404, 'SPEC_NOT_FOUND'],
    ];
    for (const [name, run, status, code] of cases) {
      const r = await run();
      t.equal(r.status, status, `${name}: status`);
      t.equal(r.json?.error?.code, code, `${name}: code`);
      t.equal(typeof r.json?.error?.message, 'string', `${name}: message`);
    }
    const big = await s.raw('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) }) }).catch((e: Error) => e);
    if (big instanceof Response) {
      t.equal(big.status, 413, 'body over the limit');
      t.equal(((await big.json()) as any).error.code, 'BODY_TOO_LARGE');
    } else {
      t.pass('server closed an oversized upload early');
    }
    const ct = await s.raw('/predict', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"prompt":"x"}' });
    t.equal(ct.status, 415);
    t.equal(((await ct.json()) as any).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const wrong = await s.raw('/predict', { method: 'GET' });
    t.equal(wrong.status, 405);
    t.equal(wrong.headers.get('allow'), 'POST');
    t.equal(((await wrong.json()) as any).error.code, 'METHOD_NOT_ALLOWED');
    const badUtf8 = await s.raw('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    t.equal(badUtf8.status, 400);
    const after = await s.post('/predict', { prompt: 'list my invoices' });
    t.equal(after.status, 200, 'still serving');
  });
});

t.test('specs persist across a restart', async (t) => {
  const fsTmp = fs.mkdtempSync(`${require('node:os').tmpdir()}/opensesame-restart-`);
  t.teardown(() => fs.rmSync(fsTmp, { recursive: true, force: true }));
  {
    const s = await startTestServer(t, {}, {}, { keepDataDir: fsTmp });
    const up = await s.post('/specs', { spec: JSON.parse(fs.readFileSync(TMDB, 'utf8')), spec_id: 'tmdb' });
    t.equal(up.status, 201);
    await s.server.close();
  }
  const s2 = await startTestServer(t, {}, {}, { keepDataDir: fsTmp });
  const r = await s2.get('/specs/tmdb');
  t.equal(r.status, 200);
  t.equal(r.json.source, 'upload');
  const p = await s2.post('/predict', { prompt: 'popular movies', spec_id: 'tmdb' });
  t.equal(p.status, 200);
});
