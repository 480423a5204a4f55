/**
 * GET /openapi.json describes this server: the document is valid OpenAPI 3.1, every
 * documented operation answers on a real server (no 404 NOT_FOUND / 405) with a documented
 * status and a body matching the documented schema, and every registered route is
 * documented.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { Errors } from '../server/errors';
import { feedbackEventSchema, feedbackSchema, predictSchema } from '../server/schemas';
import { startTestServer, type TestServer } from './helpers/server';

type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, any> } };
type Operation = { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
interface Probe {
  status: number;
  type: string;
  body: unknown;
  /** The concrete URL probed, for messages. */
  url: string;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const TINY_SPEC = {
  openapi: '3.0.3',
  info: { title: 'Probe API', version: '1.0.0' },
  paths: { '/things': { get: { summary: 'List things', responses: { 200: { description: 'ok' } } } } },
};

async function call(s: TestServer, method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<Probe> {
  const init: RequestInit = { method, headers: body === undefined ? {} : { 'content-type': contentType } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await s.raw(url, init);
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
  const text = await res.text();
  return { status: res.status, type, body: type === 'application/json' ? JSON.parse(text) : text, url };
}

/** Opens a WebSocket at /ws and does a ping/pong round trip; resolves with the upgrade status. */
function wsProbe(base: string): Promise<Probe> {
  const url = base.replace(/^http/, 'ws') + '/ws';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no pong within 5 s'));
    }, 5000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0, type: '', body: '', url: '/ws' });
      ws.terminate();
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'ping', id: 1 })));
    ws.on('message', (data) => {
      clearTimeout(timer);
      const msg = JSON.parse(String(data)) as { type: string };
      ws.close(1000);
      resolve({ status: 101, type: 'websocket', body: msg, url: '/ws' });
    });
  });
}

const escapePointer = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));

t.test('the OpenAPI document matches the running server', async (t) => {
  const s = await startTestServer(t);
  const res = await s.get('/openapi.json');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  const doc = res.json as Doc;
  t.equal(doc.openapi, '3.1.0');

  await t.test('is a valid OpenAPI 3.1 document', async (t) => {
    await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser validates it');
  });

  await t.test('request schemas are the ones the server validates with', async (t) => {
    const json = <T>(x: T): T => JSON.parse(JSON.stringify(x));
    t.same(doc.components.schemas.PredictRequest.properties, json(predictSchema.properties));
    t.same(doc.components.schemas.PredictRequest.required, json(predictSchema.required));
    t.same(doc.components.schemas.FeedbackRequest.properties.events.items, json(feedbackEventSchema));
    t.same(doc.components.schemas.FeedbackRequest.required, json(feedbackSchema.required));
    const codes = new Set(Object.values(Errors).map((e) => e.code));
    t.same(new Set(doc.components.schemas.Error.properties.error.properties.code.enum), codes, 'error codes are the catalog');
  });

  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) if (HTTP_METHODS.includes(method)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  const registered = new Set(s.server.ctx.http.registeredRoutes().map((r) => `${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`));

  await t.test('every registered route is documented and vice versa', async (t) => {
    for (const route of registered) t.ok(documented.has(route), `${route} is documented`);
    for (const op of documented) t.ok(registered.has(op), `${op} is registered`);
  });

  const ajv = new Ajv2020({ strict: false, validateFormats: false, validateSchema: false, allErrors: true });
  ajv.addSchema(doc, 'openapi');
  /** Validate a body against the schema documented for (operation, status, media type). */
  const checkBody = (t: Test, op: string, probe: Probe) => {
    const [method, path] = op.split(' ') as [string, string];
    const response = doc.paths[path]![method.toLowerCase()]!.responses[String(probe.status)];
    if (!t.ok(response, `${op} documents status ${probe.status} (${probe.url})`)) return;
    if (probe.type === 'websocket') return;
    const media = response!.content?.[probe.type];
    if (response!.content) t.ok(media, `${op} ${probe.status} documents ${probe.type}`);
    if (!media?.schema || probe.type !== 'application/json') return;
    const pointer = ['paths', path, method.toLowerCase(), 'responses', String(probe.status), 'content', probe.type, 'schema'].map(escapePointer).join('/');
    const validate = ajv.getSchema(`openapi#/${pointer}`)!;
    if (!validate(probe.body)) t.fail(`${op} ${probe.status} body matches its schema`, { errors: validate.errors, body: probe.body });
    else t.pass(`${op} ${probe.status} body matches its schema`);
  };

  await t.test('every documented operation answers as documented', async (t) => {
    const saas = (await s.get('/specs/saas')).json as { endpoint_list: { api_call: string }[] };
    const events = saas.endpoint_list.slice(0, 2).map((e) => ({ api_call: e.api_call }));
    const assets: string[] = (doc.paths['/docs/{asset}']!.get as unknown as { parameters: { name: string; schema: { enum: string[] } }[] }).parameters.find((p) => p.name === 'asset')!.schema.enum;
    /**
     * Job bodies just outside each documented bound (and an unknown field) must be refused:
     * the job schemas are written out in the document, so this catches a looser document.
     */
    const outOfBounds = async (url: string, schemaName: string): Promise<Probe[]> => {
      const schema = doc.components.schemas[schemaName] as { properties: Record<string, { minimum?: number; exclusiveMinimum?: number; maximum?: number }> };
      const bodies: Record<string, unknown>[] = [{ no_such_field: 1 }];
      for (const [name, p] of Object.entries(schema.properties)) {
        if (p.minimum !== undefined) bodies.push({ [name]: p.minimum - 1 });
        if (p.exclusiveMinimum !== undefined) bodies.push({ [name]: p.exclusiveMinimum });
        if (p.maximum !== undefined) bodies.push({ [name]: p.maximum + 1 });
      }
      const out: Probe[] = [];
      for (const body of bodies) {
        const probe = await call(s, 'POST', url, body);
        t.equal(probe.status, 400, `${url} refuses ${JSON.stringify(body)}`);
        out.push(probe);
      }
      return out;
    };
    // Ordered: DELETE removes what POST /specs added. Job routes get bodies outside their
    // bounds (below), so no training job starts: a 400 VALIDATION_FAILED still proves the route.
    const probes: [string, () => Promise<Probe[]>][] = [
      ['GET /', async () => [await call(s, 'GET', '/')]],
      ['POST /predict', async () => [await call(s, 'POST', '/predict', { prompt: 'create a new user account' }), await call(s, 'POST', '/predict', {}), await call(s, 'POST', '/predict', 'x', 'text/plain')]],
      ['GET /specs', async () => [await call(s, 'GET', '/specs')]],
      ['POST /specs', async () => [await call(s, 'POST', '/specs?spec_id=probe', TINY_SPEC), await call(s, 'POST', '/specs', 'openapi: [', 'application/yaml')]],
      ['GET /specs/{id}', async () => [await call(s, 'GET', '/specs/saas'), await call(s, 'GET', '/specs/no-such-spec')]],
      ['DELETE /specs/{id}', async () => [await call(s, 'DELETE', '/specs/probe'), await call(s, 'DELETE', '/specs/probe')]],
      ['POST /feedback', async () => [await call(s, 'POST', '/feedback', { events }), await call(s, 'POST', '/feedback', { events: [{}] })]],
      ['GET /health', async () => [await call(s, 'GET', '/health')]],
      ['GET /metrics', async () => [await call(s, 'GET', '/metrics')]],
      ['GET /cost-analytics', async () => [await call(s, 'GET', '/cost-analytics')]],
      ['POST /train', () => outOfBounds('/train', 'TrainRequest')],
      ['POST /generate-data', () => outOfBounds('/generate-data', 'GenerateDataRequest')],
      ['GET /jobs', async () => [await call(s, 'GET', '/jobs'), await call(s, 'GET', '/jobs?limit=0')]],
      ['GET /jobs/{id}', async () => [await call(s, 'GET', '/jobs/no-such-job')]],
      ['GET /openapi.json', async () => [await call(s, 'GET', '/openapi.json')]],
      ['GET /docs', async () => [await call(s, 'GET', '/docs')]],
      ['GET /docs/{asset}', async () => [...(await Promise.all(assets.map((a) => call(s, 'GET', `/docs/${a}`)))), await call(s, 'GET', '/docs/no-such-file.js')]],
      ['GET /ws', async () => [await wsProbe(s.base), await call(s, 'GET', '/ws')]],
    ];
    t.same(new Set(probes.map(([op]) => op)), documented, 'one probe per documented operation');
    for (const [op, run] of probes) {
      if (!documented.has(op)) continue;
      for (const probe of await run()) {
        t.not(probe.status, 405, `${op}: ${probe.url} is routed`);
        const code = (probe.body as { error?: { code?: string } } | undefined)?.error?.code;
        if (!probe.url.includes('no-such-file')) t.not(code, 'NOT_FOUND', `${op}: ${probe.url} is routed`);
        checkBody(t, op, probe);
      }
    }
  });

  await t.test('/ws answers pings over a real WebSocket', async (t) => {
    const probe = await wsProbe(s.base);
    t.equal(probe.status, 101);
    t.match(probe.body, { type: 'pong' });
  });
});
