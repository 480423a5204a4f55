/**
 * Property-based fuzzing of the HTTP API against a real server (fast-check, fixed seed,
 * bounded runs): random and malformed JSON, wrong types for every field, invalid UTF-8,
 * deep nesting, huge strings and histories, random content types, on POST /predict,
 * POST /specs and POST /feedback.
 *
 * The contract checked on every answer: a status >= 400 comes with a JSON body carrying
 * `error.code`; nothing is a 5xx except 503 (shed load) and 504 (deadline); every answer
 * has an X-Request-ID. Afterwards the server is healthy, has nothing in flight, and the
 * process (which hosts the server and its worker threads) has not grown without bound.
 *
 * GET /ws gets the same treatment per message: every message is answered by one JSON
 * frame (`prediction`, `pong`, or `error` with a code other than INTERNAL_ERROR /
 * WORKER_FAILED), or — for a message over the size limit or a text frame that is not
 * UTF-8 — the connection is closed (1009; uWS drops a non-UTF-8 text frame's connection,
 * which the client sees as 1006).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import t from 'tap';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './helpers/server';

const SEED = 20240611;

/** A full GC before each memory reading, so garbage is not counted as growth. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const ROUTES = ['/predict', '/specs', '/feedback'] as const;
type Route = (typeof ROUTES)[number];

interface Case {
  route: Route;
  contentType: string | undefined;
  body: Buffer;
  headers?: Record<string, string>;
  /** For messages: what kind of body this is. */
  kind: string;
}

interface Outcome {
  status: number;
  text: string;
  requestId: string | null;
}

async function send(s: TestServer, c: Case): Promise<Outcome> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  const res = await s.raw(c.route, { method: 'POST', headers, body: c.body });
  return { status: res.status, text: await res.text(), requestId: res.headers.get('x-request-id') };
}

/** The contract; returns a reason when it is broken. */
function violation(o: Outcome): string | undefined {
  if (!o.requestId) return 'no X-Request-ID';
  if (o.status >= 500 && o.status !== 503 && o.status !== 504) return `status ${o.status}: ${o.text.slice(0, 200)}`;
  let json: any;
  try {
    json = JSON.parse(o.text);
  } catch {
    return `status ${o.status} with a non-JSON body: ${o.text.slice(0, 120)}`;
  }
  if (o.status >= 400 && (typeof json?.error?.code !== 'string' || typeof json.error.message !== 'string')) {
    return `status ${o.status} without error.code/message: ${o.text.slice(0, 200)}`;
  }
  return undefined;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

// ---- arbitraries -------------------------------------------------------------------

/** Content types a client might send, most of them wrong. */
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/problem+json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/yaml', 'text/yaml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/json; charset=utf-16', 'json', ';', '') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/) },
);

/** Any JSON value, with a bias to the awkward ones. */
const wrong = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, '', ' ', '\u0000', '\ud800', '💥'.repeat(50), [], {}, [[[]]], { __proto__: null }, '__proto__', 'constructor'),
);

/** Every path to a node of a JSON value (objects and arrays included), root excluded. */
function pathsOf(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v !== null && typeof v === 'object' && prefix.length < 5) {
    for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      pathsOf(c, p, out);
    }
  }
  return out;
}

/**
 * A valid body with one node replaced by a value of another type, or deleted: over many
 * runs every field, nested ones included, gets every kind of wrong value.
 */
function mutated<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), wrong, fc.integer({ min: 0, max: 4 })).map(([body, n, w, op]) => {
    const b = structuredClone(body) as Record<string, unknown>;
    const paths = pathsOf(b);
    if (paths.length === 0) return w;
    const path = paths[n % paths.length]!;
    let parent: any = b;
    for (const k of path.slice(0, -1)) parent = parent[k];
    const last = path[path.length - 1]!;
    if (op === 0 && !Array.isArray(parent)) delete parent[last];
    else parent[last] = w;
    return b;
  });
}

const apiCall = fc.oneof(
  fc.constantFrom('/users', '/users/123', 'GET /users/{userId}', 'POST /projects', '/projects/7/tasks', 'DELETE /users/9', '/', '//', '/users/%zz', '/users/%00', '/a/'.repeat(300), '/users?limit=10&x=<y>'),
  fc.string({ minLength: 1, maxLength: 80 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);

const historyEntry = fc.record(
  {
    api_call: apiCall,
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'TRACE', 'CONNECT', ''),
    timestamp: fc.oneof(fc.integer(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
    status: fc.constantFrom(200, 201, 404, 500, '200'),
    params: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  },
  { requiredKeys: ['api_call'] },
);

const prompt = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('list all users', 'create a new project', 'update this user', 'add a product to my cart', 'close the ticket', 'show my open orders') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
);

const validPredict = fc.record(
  {
    prompt,
    history: fc.array(historyEntry, { maxLength: 8 }),
    max_predictions: fc.integer({ min: 1, max: 20 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    spec_id: fc.constantFrom('saas', 'shop', 'helpdesk', 'nope', 'fuzz-0'),
    session_id: fc.string({ maxLength: 20 }),
  },
  { requiredKeys: ['prompt'] },
);
const predictBody = fc.oneof(validPredict, mutated(validPredict));

const validFeedback = fc.record(
  {
    session_id: fc.string({ minLength: 1, maxLength: 20 }),
    spec_id: fc.constantFrom('saas', 'shop', 'nope'),
    events: fc.array(historyEntry, { minLength: 1, maxLength: 10 }),
  },
  { requiredKeys: ['events'] },
);
const feedbackBody = fc.oneof(validFeedback, mutated(validFeedback));

/** OpenAPI-ish documents: right and wrong shapes; fixed spec ids so the store stays small. */
const field = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: wrong });
const specDoc = fc.record(
  {
    openapi: field(fc.constantFrom('3.0.0', '3.1.0', '2.0', '4.0', '')),
    swagger: fc.constantFrom(undefined, '2.0', 2),
    info: field(fc.record({ title: field(fc.string({ maxLength: 30 })), version: field(fc.constantFrom('1', '1.0.0')) }, { requiredKeys: [] })),
    paths: field(
      fc.dictionary(
        fc.oneof(fc.constantFrom('/a', '/a/{id}', '/b/{x}/{y}', '', 'no-slash', '/{'), fc.string({ maxLength: 12 })),
        fc.dictionary(fc.constantFrom('get', 'post', 'put', 'delete', 'patch', 'parameters', 'x-any', 'summary'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
        { maxKeys: 4 },
      ),
    ),
    components: fc.constantFrom(undefined, {}, { schemas: { A: { $ref: '#/components/schemas/A' } } }, { schemas: { B: { $ref: '#/nowhere' } } }),
  },
  { requiredKeys: [] },
);

/** Small valid OpenAPI 3 documents with random paths and (possibly hostile) summaries. */
const validSpec = fc
  .tuple(
    fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), fc.boolean(), fc.constantFrom('get', 'post', 'put', 'delete'), fc.string({ maxLength: 60 })), { minLength: 1, maxLength: 12 }),
    fc.string({ maxLength: 20 }),
  )
  .map(([ops, title]) => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const [seg, withId, method, summary] of ops) {
      const p = withId ? `/${seg}/{id}` : `/${seg}`;
      paths[p] ??= {};
      paths[p]![method] = {
        summary,
        ...(withId ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] } : {}),
        responses: { '200': { description: 'ok' } },
      };
    }
    return { openapi: '3.0.3', info: { title, version: '1.0.0' }, paths };
  });

/** Nested arrays/objects `depth` levels deep, as text. */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}

function caseArb(maxBody: number): fc.Arbitrary<Case> {
  const route = fc.constantFrom<Route>(...ROUTES);
  const structured = fc.oneof(
    predictBody.map((b): Case => ({ route: '/predict', contentType: 'application/json', body: json(b), kind: 'predict body' })),
    feedbackBody.map((b): Case => ({ route: '/feedback', contentType: 'application/json', body: json(b), kind: 'feedback body' })),
    fc.tuple(fc.oneof(specDoc, validSpec, mutated(validSpec)), fc.integer({ min: 0, max: 3 })).map(([d, i]): Case => ({ route: `/specs?spec_id=fuzz-${i}` as Route, contentType: 'application/json', body: json(d), kind: 'spec document' })),
  );
  const anyJson = fc.tuple(route, fc.jsonValue({ maxDepth: 4 }), contentType).map(([r, v, ct]): Case => ({ route: r, contentType: ct, body: json(v), kind: 'random JSON' }));
  const malformed = fc
    .tuple(route, predictBody, fc.nat(), fc.constantFrom('', '}', ',', '\u0000', '"', 'NaN', "'", '/*x*/'), contentType)
    .map(([r, b, cut, tail, ct]): Case => {
      const text = JSON.stringify(b);
      return { route: r, contentType: ct, body: Buffer.from(text.slice(0, cut % (text.length + 1)) + tail), kind: 'malformed JSON' };
    });
  const bytes = fc.tuple(route, fc.uint8Array({ maxLength: 300 }), contentType).map(([r, b, ct]): Case => ({ route: r, contentType: ct, body: Buffer.from(b), kind: 'random bytes' }));
  const badUtf8 = fc
    .tuple(route, fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf], [0xef, 0xbb, 0xbf]))
    .map(([r, seq]): Case => ({ route: r, contentType: 'application/json', body: Buffer.concat([Buffer.from('{"prompt":"list '), Buffer.from(seq), Buffer.from(' users","events":[]}')]), kind: 'invalid UTF-8' }));
  const deep = fc
    .tuple(route, fc.integer({ min: 10, max: Math.floor(maxBody / 5) }), fc.constantFrom<'array' | 'object'>('array', 'object'), fc.boolean())
    .map(([r, depth, kind, wrapped]): Case => {
      const inner = nested(depth, kind);
      const text = wrapped ? `{"prompt":"list users","history":[{"api_call":"/users","params":{"p":${inner}}}],"events":[{"api_call":"/users","params":{"p":${inner}}}]}` : inner;
      return { route: r, contentType: 'application/json', body: Buffer.from(text), kind: `nesting ${depth} (${kind}${wrapped ? ', in params' : ''})` };
    })
    .filter((c) => c.body.length <= maxBody);
  const huge = fc
    .tuple(route, fc.integer({ min: 1000, max: maxBody + 4096 }), fc.constantFrom('prompt', 'api_call', 'session_id', 'title'))
    .map(([r, n, where]): Case => {
      const big = 'a'.repeat(n);
      const body =
        where === 'prompt' ? { prompt: big } : where === 'api_call' ? { prompt: 'x', history: [{ api_call: '/' + big }], events: [{ api_call: '/' + big }] } : where === 'session_id' ? { prompt: 'x', session_id: big, events: [] } : { openapi: '3.0.0', info: { title: big, version: '1' }, paths: {} };
      return { route: r, contentType: 'application/json', body: json(body), kind: `huge ${where} (${n})` };
    });
  const bigHistory = fc
    .tuple(fc.integer({ min: 50, max: 3000 }), fc.integer({ min: 1, max: 1900 }), fc.constantFrom<Route>('/predict', '/feedback'))
    .map(([n, len, r]): Case => {
      const entries = Array.from({ length: n }, (_, i) => ({ api_call: `/users/${i}/${'x'.repeat(len)}`.slice(0, 2000), method: 'GET' }));
      return { route: r, contentType: 'application/json', body: json({ prompt: 'update this user', history: entries, events: entries }), kind: `history of ${n}` };
    })
    .filter((c) => c.body.length <= maxBody * 1.2);
  const headerNoise = fc.dictionary(fc.constantFrom('x-user-id', 'x-request-id', 'accept', 'accept-encoding', 'x-forwarded-for', 'content-encoding', 'expect'), fc.stringMatching(/^[\x21-\x7e]{0,200}$/), { maxKeys: 3 });
  return fc
    .tuple(
      fc.oneof(
        { weight: 6, arbitrary: structured },
        { weight: 2, arbitrary: anyJson },
        { weight: 3, arbitrary: malformed },
        { weight: 1, arbitrary: bytes },
        { weight: 1, arbitrary: badUtf8 },
        { weight: 1, arbitrary: deep },
        { weight: 1, arbitrary: huge },
        { weight: 1, arbitrary: bigHistory },
      ),
      headerNoise,
    )
    .map(([c, headers]) => ({ ...c, headers: { ...headers, ...c.headers } }))
    .filter((c) => c.headers['expect'] === undefined && c.headers['content-encoding'] === undefined);
}

// ---- WebSocket -----------------------------------------------------------------------

interface WsCase {
  data: string | Buffer;
  /** Sent as a binary frame. */
  binary: boolean;
  kind: string;
}

function wsCaseArb(maxMessage: number): fc.Arbitrary<WsCase> {
  const text = (kind: string) => (data: string): WsCase => ({ data, binary: false, kind });
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(predictBody, fc.oneof(fc.nat(), fc.string({ maxLength: 10 }))).map(([b, id]) => text('predict')(JSON.stringify({ ...(b as object), type: 'predict', id }))) },
    { weight: 1, arbitrary: fc.tuple(fc.jsonValue({ maxDepth: 3 }), wrong).map(([b, id]) => text('predict, wrong id')(JSON.stringify({ type: 'predict', id, prompt: 'list users', b }))) },
    { weight: 1, arbitrary: fc.option(fc.oneof(fc.nat(), fc.string({ maxLength: 200 }), wrong)).map((id) => text('ping')(JSON.stringify({ type: 'ping', id }))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => text('random JSON')(JSON.stringify(v))) },
    { weight: 2, arbitrary: fc.tuple(predictBody, fc.nat()).map(([b, cut]) => { const j = JSON.stringify({ type: 'predict', id: 1, ...(b as object) }); return text('malformed')(j.slice(0, cut % j.length)); }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b): WsCase => ({ data: Buffer.from(b), binary: true, kind: 'binary bytes' })) },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: Math.floor(maxMessage / 2) - 10 }).map((d) => text(`nesting ${d}`)(nested(d, 'array'))) },
    { weight: 1, arbitrary: fc.integer({ min: maxMessage + 1, max: maxMessage * 3 }).map((n): WsCase => ({ data: JSON.stringify({ type: 'predict', id: 1, prompt: 'a'.repeat(n) }), binary: false, kind: `oversize ${n}` })) },
    { weight: 1, arbitrary: fc.constant<WsCase>({ data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false, kind: 'text frame, invalid UTF-8' }) },
  );
}

class WsProbe {
  private ws!: WebSocket;
  private waiting: ((r: { msg?: string; closed?: number }) => void) | undefined;
  private inbox: string[] = [];
  private closedWith: number | undefined;

  constructor(private readonly url: string) {}

  async open(): Promise<void> {
    this.inbox = [];
    this.closedWith = undefined;
    this.ws = new WebSocket(this.url);
    this.ws.on('message', (d: Buffer) => {
      if (this.waiting) this.waiting({ msg: d.toString('utf8') });
      else this.inbox.push(d.toString('utf8'));
    });
    this.ws.on('close', (code: number) => {
      this.closedWith = code;
      this.waiting?.({ closed: code });
    });
    this.ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Send one message; resolves with the next frame, or the close code. */
  async exchange(c: WsCase, timeoutMs: number): Promise<{ msg?: string; closed?: number }> {
    if (this.closedWith !== undefined || this.ws.readyState !== WebSocket.OPEN) await this.open();
    const next = new Promise<{ msg?: string; closed?: number }>((resolve) => {
      const timer = setTimeout(() => resolve({}), timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(r);
      };
    });
    this.ws.send(c.data, { binary: c.binary });
    if (this.inbox.length) this.waiting!({ msg: this.inbox.shift()! });
    return next;
  }

  close(): void {
    this.ws?.terminate();
  }
}

function wsViolation(c: WsCase, r: { msg?: string; closed?: number }): string | undefined {
  if (r.closed !== undefined) {
    if (c.kind.startsWith('oversize') && r.closed === 1009) return undefined;
    // uWS validates text frames itself and drops the connection without a close frame
    // (1006 at the client) rather than sending 1007; either way the connection is gone.
    if (c.kind === 'text frame, invalid UTF-8' && (r.closed === 1007 || r.closed === 1006)) return undefined;
    return `closed with ${r.closed}`;
  }
  if (r.msg === undefined) return 'no answer';
  let m: any;
  try {
    m = JSON.parse(r.msg);
  } catch {
    return `non-JSON frame: ${r.msg.slice(0, 100)}`;
  }
  if (m.type === 'pong') return c.kind === 'ping' ? undefined : 'pong to a non-ping';
  if (m.type === 'prediction') return Array.isArray(m.predictions) ? undefined : 'prediction without predictions';
  if (m.type !== 'error') return `unknown frame type ${m.type}`;
  if (typeof m.code !== 'string' || typeof m.message !== 'string') return `error frame without code/message: ${r.msg.slice(0, 200)}`;
  // Client errors, OVERLOADED and DEADLINE_EXCEEDED are fine; a server-side failure is not.
  if (m.code === 'INTERNAL_ERROR' || m.code === 'WORKER_FAILED') return `server-side failure ${m.code}`;
  if (!/^[A-Z_]+$/.test(m.code)) return `odd code ${m.code}`;
  if (c.kind.startsWith('oversize') || c.kind.includes('invalid UTF-8')) return `answered ${m.code} instead of closing`;
  return undefined;
}

// ---- tests ---------------------------------------------------------------------------

t.test('fuzzing the HTTP API', async (t) => {
  // A generous task deadline: 504 is allowed by the contract, but a loaded test machine
  // would turn most runs into deadline checks instead of parser and validator checks.
  // No per-connection WebSocket message rate: the fuzzer sends as fast as answers come.
  const s = await startTestServer(t, { taskTimeoutMs: 20_000 }, { OPENSESAME_WS_RATE_PER_SECOND: '0' });
  const limit = s.server.ctx.config.maxBodyBytes;
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();
  const note = (o: Outcome) => {
    statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
    let code = '';
    try {
      code = JSON.parse(o.text)?.error?.code ?? '';
    } catch {
      code = 'non-JSON';
    }
    if (code) codes.set(code, (codes.get(code) ?? 0) + 1);
  };

  // Warm up (worker catalogs, JIT), then take the memory baseline.
  for (const p of ['list all users', 'create a project', 'add a product to my cart']) await s.post('/predict', { prompt: p });
  gc();
  const rssBefore = process.memoryUsage().rss;
  const mem = (label: string) => {
    gc();
    const m = process.memoryUsage();
    t.comment(`${label}: ` + Object.entries(m).map(([k, v]) => `${k}=${(v / 2 ** 20).toFixed(0)}MB`).join(' '));
  };
  mem('baseline');

  await t.test('fixed nasty inputs', async (t) => {
    const cases: Case[] = [
      { route: '/predict', contentType: 'application/json', body: Buffer.from(nested(10_000, 'array')), kind: '10k nested arrays' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from(`{"prompt":"list users","history":[{"api_call":"/users","params":{"a":${nested(10_000, 'array')}}}]}`), kind: '10k nesting inside params' },
      { route: '/feedback', contentType: 'application/json', body: Buffer.from(`{"events":[{"api_call":"/users","params":{"a":${nested(10_000, 'object')}}}]}`), kind: '10k nested objects in feedback' },
      { route: '/specs', contentType: 'application/json', body: Buffer.from(`{"openapi":"3.0.0","info":{"title":"deep","version":"1"},"paths":{"/a":{"get":{"x-d":${nested(5000, 'array')},"responses":{"200":{"description":"ok"}}}}}}`), kind: 'spec with a 5k-deep extension' },
      { route: '/specs', contentType: 'application/json', body: Buffer.from(`{"openapi":"3.0.0","info":{"title":"deep","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":${'{"type":"object","properties":{"a":'.repeat(1500)}{"type":"string"}${'}}'.repeat(1500)}}}}}}}}}}`), kind: 'spec with a 1.5k-deep schema' },
      { route: '/specs', contentType: 'application/yaml', body: Buffer.from('a:\n' + Array.from({ length: 800 }, (_, i) => ' '.repeat(i + 1) + 'b:').join('\n')), kind: 'deep YAML' },
      { route: '/specs', contentType: 'application/yaml', body: Buffer.from('a: &a [*a, *a]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n'), kind: 'YAML alias bomb' },
      { route: '/specs', contentType: 'application/json', body: json({ url: 'http://127.0.0.1:1/spec.json' }), kind: 'spec URL that refuses connections' },
      { route: '/specs', contentType: 'application/json', body: json({ url: `${s.base}/health` }), kind: 'spec URL that is not a spec' },
      { route: '/specs', contentType: 'application/json', body: json({ url: 'file:///etc/passwd' }), kind: 'file: URL' },
      { route: '/specs', contentType: 'application/json', body: json({ spec: '{"openapi":' }), kind: 'truncated inner spec' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from('{"prompt":"\\ud800\\udfff\\ud800 list users"}'), kind: 'lone surrogates' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from('{"prompt":"list users","__proto__":{"polluted":true}}'), kind: '__proto__ key' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from('{"prompt":"list users","max_predictions":1e400}'), kind: 'number overflow' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from('{"prompt":"a","prompt":"b"}'), kind: 'duplicate keys' },
      { route: '/predict', contentType: 'application/json', body: json({ prompt: 'x'.repeat(s.server.ctx.config.maxPromptLength + 1) }), kind: 'prompt over the limit' },
      { route: '/predict', contentType: 'application/json', body: json({ prompt: 'list users ' + 'é'.repeat(Math.floor(limit / 2) - 20) }), kind: 'multi-byte body at the limit' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from(' '.repeat(limit)), kind: 'whitespace at the limit' },
      { route: '/predict', contentType: 'application/json', body: Buffer.alloc(limit + 1, 0x20), kind: 'one byte over the limit' },
      { route: '/predict', contentType: 'application/json', body: Buffer.alloc(0), kind: 'empty body' },
      { route: '/predict', contentType: 'application/json', body: Buffer.from('\ufeff{"prompt":"list users"}'), kind: 'BOM' },
      { route: '/predict', contentType: 'application/json', body: json({ prompt: 'list users', history: Array.from({ length: 100 }, (_, i) => ({ api_call: `/users/${i}`, params: Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`k${j}`, 'v'.repeat(100)])) })) }), kind: 'maximal history' },
      { route: '/feedback', contentType: 'application/json', body: json({ events: Array.from({ length: 1000 }, (_, i) => ({ api_call: i % 2 ? '/users' : '/nowhere/at/all' })) }), kind: '1000 events, half unknown' },
    ];
    for (const c of cases) {
      const o = await send(s, c);
      note(o);
      t.notOk(violation(o), `${c.kind}: ${o.status}`, { found: violation(o) });
    }
    const polluted = ({} as Record<string, unknown>).polluted;
    t.equal(polluted, undefined, 'no prototype pollution');
  });

  mem('after fixed');
  await t.test('random requests keep the contract', async (t) => {
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(caseArb(limit), async (c) => {
        const o = await send(s, c);
        note(o);
        const v = violation(o);
        if (v) failures.push(`${c.route} ${c.kind} [${c.contentType}]: ${v}`);
        return v === undefined;
      }),
      { seed: SEED, numRuns: 300, endOnFailure: true },
    ).catch((err: Error) => failures.push(err.message.split('\n').slice(0, 6).join('\n')));
    t.same(failures, [], 'no contract violations');
  });

  mem('after random');
  await t.test('a concurrent burst of mixed requests', async (t) => {
    const sample = fc.sample(caseArb(limit), { seed: SEED + 1, numRuns: 60 });
    const outcomes = await Promise.all(sample.map((c) => send(s, c)));
    outcomes.forEach(note);
    const bad = outcomes.map((o, i) => [violation(o), sample[i]!.kind]).filter(([v]) => v);
    t.same(bad, [], 'no contract violations under concurrency');
  });

  mem('after burst');
  await t.test('WebSocket messages keep the contract', async (t) => {
    const probe = new WsProbe(s.base.replace(/^http/, 'ws') + '/ws');
    t.teardown(() => probe.close());
    await probe.open();
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    await fc
      .assert(
        fc.asyncProperty(wsCaseArb(s.server.ctx.config.ws.maxMessageBytes), async (c) => {
          const r = await probe.exchange(c, 20_000);
          const key = r.closed !== undefined ? `close ${r.closed}` : (() => { try { const m = JSON.parse(r.msg ?? ''); return m.type === 'error' ? m.code : m.type; } catch { return 'none'; } })();
          kinds.set(key, (kinds.get(key) ?? 0) + 1);
          const v = wsViolation(c, r);
          if (v) failures.push(`${c.kind}: ${v}`);
          return v === undefined;
        }),
        { seed: SEED + 2, numRuns: 200, endOnFailure: true },
      )
      .catch((err: Error) => failures.push(err.message.split('\n').slice(0, 6).join('\n')));
    t.comment(`ws outcomes: ${JSON.stringify(Object.fromEntries(kinds))}`);
    t.same(failures, [], 'no contract violations');
    const ping = await probe.exchange({ data: JSON.stringify({ type: 'ping', id: 'last' }), binary: false, kind: 'ping' }, 5000);
    t.same(JSON.parse(ping.msg ?? '{}'), { type: 'pong', id: 'last' }, 'the connection still answers');
  });

  mem('after ws');
  await t.test('the server is healthy afterwards', async (t) => {
    const h = await s.get('/health');
    t.equal(h.status, 200);
    const r = await s.post('/predict', { prompt: 'create a new user account' });
    t.equal(r.status, 200);
    t.equal(r.json.predictions[0].api_call, 'POST /users', 'and still predicts sensibly');
    t.equal(s.server.ctx.http.activeRequests, 0, 'nothing in flight');
    gc();
    const growth = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    t.comment(`error codes: ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}`);
    t.comment(`RSS growth over the fuzz run: ${growth.toFixed(1)} MB`);
    t.ok(growth < 150, `RSS growth bounded (${growth.toFixed(1)} MB < 150 MB)`);
    t.ok(statuses.size >= 5, 'the fuzzer reached many different outcomes');
  });
});
