import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './helpers/server';
import { startStandin } from './helpers/llm-standin';

/** A real `ws` client that records every message, so tests can wait for one by predicate. */
interface Client {
  ws: WebSocket;
  log: any[];
  send(msg: unknown): void;
  next(pred: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
}

function wsUrl(s: TestServer): string {
  return s.base.replace(/^http/, 'ws') + '/ws';
}

function connect(s: TestServer, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(wsUrl(s), { headers });
  const log: any[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    log.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const client: Client = {
    ws,
    log,
    closed,
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    next: (pred, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const seen = log.find(pred);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

const final = (id: unknown) => (m: any) => m.id === id && (m.type === 'error' || (m.type === 'prediction' && m.stage === 'final'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms for up to `ms`; whether it came true. */
async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

function closeAll(tt: Test, clients: Client[]): void {
  tt.teardown(() => {
    for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.terminate();
  });
}

t.test('WebSocket protocol without an LLM', async (t) => {
  const s = await startTestServer(t);
  const c = await connect(s);
  closeAll(t, [c]);

  await t.test('predict round trip echoes the id; only a final stage without an LLM', async (t) => {
    c.send({ type: 'predict', id: 'a1', prompt: 'create a new user account', max_predictions: 3 });
    const m = await c.next(final('a1'));
    t.equal(m.type, 'prediction');
    t.equal(m.stage, 'final');
    t.equal(m.predictions.length, 3);
    t.equal(m.predictions[0].api_call, 'POST /users');
    t.equal(m.metadata.spec_id, 'saas');
    t.equal(typeof m.processing_time_ms, 'number');
    c.send({ type: 'ping', id: 'after-a1' });
    await c.next((x) => x.type === 'pong' && x.id === 'after-a1');
    t.equal(c.log.filter((x) => x.id === 'a1').length, 1, 'no fast stage without an LLM');
  });

  await t.test('concurrent requests are multiplexed and answered by id', async (t) => {
    const prompts = ['list all invoices', 'delete a project', 'update this user', 'create a new team', 'search users by email', 'show my billing plan'];
    const ids: (string | number)[] = prompts.map((_, i) => (i % 2 ? `req-${i}` : 100 + i));
    prompts.forEach((prompt, i) => c.send({ type: 'predict', id: ids[i], prompt, max_predictions: 4 }));
    const answers = await Promise.all(ids.map((id) => c.next(final(id))));
    for (const [i, a] of answers.entries()) {
      t.equal(a.type, 'prediction', `answer for ${ids[i]}`);
      // The same request over HTTP names the same endpoints: answers went to the right ids.
      const http = await s.post('/predict', { prompt: prompts[i], max_predictions: 4 });
      t.same(a.predictions.map((p: any) => p.api_call), http.json.predictions.map((p: any) => p.api_call), `answer ${ids[i]} matches its prompt`);
    }
  });

  await t.test('bad messages get error frames and the connection stays open', async (t) => {
    c.send('{not json');
    let e = await c.next((m) => m.type === 'error' && m.code === 'INVALID_JSON');
    t.equal(e.id, null);
    c.send({ type: 'subscribe', id: 7 });
    e = await c.next((m) => m.type === 'error' && m.id === 7);
    t.equal(e.code, 'VALIDATION_FAILED');
    t.match(e.message, /unknown message type "subscribe"/);
    c.send({ type: 'predict', id: 'bad-body', prompt: 42 });
    e = await c.next((m) => m.id === 'bad-body');
    t.equal(e.code, 'VALIDATION_FAILED');
    t.ok(Array.isArray(e.details), 'ajv details');
    c.send({ type: 'predict', id: 'extra', prompt: 'list users', colour: 'red' });
    t.equal((await c.next((m) => m.id === 'extra')).code, 'VALIDATION_FAILED');
    c.send({ type: 'predict', prompt: 'list users' });
    e = await c.next((m) => m.type === 'error' && /needs an "id"/.test(m.message));
    t.equal(e.id, null);
    c.send({ type: 'predict', id: 'sqli', prompt: "show user ' OR 1=1; DROP TABLE users; --" });
    e = await c.next((m) => m.id === 'sqli');
    t.equal(e.code, 'SAFETY_VALIDATION_FAILED');
    t.equal(e.details.rule, 'sql_injection');
    c.send({ type: 'predict', id: 'nospec', prompt: 'list users', spec_id: 'nope' });
    t.equal((await c.next((m) => m.id === 'nospec')).code, 'SPEC_NOT_FOUND');
    c.send({ type: 'predict', id: 'empty', prompt: '   ' });
    t.equal((await c.next((m) => m.id === 'empty')).code, 'EMPTY_PROMPT');
    c.send([1, 2]);
    t.equal((await c.next((m) => m.type === 'error' && /JSON object/.test(m.message))).code, 'VALIDATION_FAILED');
    c.ws.send(Buffer.from([0xff, 0xfe, 0x7b]), { binary: true });
    t.equal((await c.next((m) => m.type === 'error' && /not UTF-8/.test(m.message))).code, 'INVALID_JSON');
    t.equal(c.ws.readyState, WebSocket.OPEN, 'still open');
    c.send({ type: 'predict', id: 'ok-after', prompt: 'list all projects' });
    t.equal((await c.next(final('ok-after'))).type, 'prediction');
  });

  await t.test('ping / pong', async (t) => {
    c.send({ type: 'ping', id: 'p1' });
    t.same(await c.next((m) => m.type === 'pong' && m.id === 'p1'), { type: 'pong', id: 'p1' });
    const before = c.log.length;
    c.send({ type: 'ping' });
    t.same(await c.next((m) => m.type === 'pong' && !('id' in m) && c.log.indexOf(m) >= before), { type: 'pong' });
  });

  await t.test('per-connection rate limit answers RATE_LIMITED, then refills', async (t) => {
    const r = await connect(s);
    closeAll(t, [r]);
    for (let i = 0; i < 40; i++) r.send({ type: 'ping', id: i });
    await Promise.all(Array.from({ length: 40 }, (_, i) => r.next((m) => m.id === i)));
    const pongs = r.log.filter((m) => m.type === 'pong').length;
    const limited = r.log.filter((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    t.equal(pongs + limited.length, 40, 'every message answered once');
    t.ok(pongs >= 20, 'the burst (20) is allowed');
    t.ok(limited.length > 0, 'the excess is refused');
    t.equal(limited[0].details.scope, 'connection');
    await sleep(300);
    r.send({ type: 'ping', id: 'refilled' });
    t.equal((await r.next((m) => m.id === 'refilled')).type, 'pong', 'tokens refill over time');
  });

  await t.test('a message over the limit closes with 1009', async (t) => {
    const big = await connect(s);
    big.send({ type: 'predict', id: 'big', prompt: 'x'.repeat(64 * 1024) });
    t.equal((await big.closed).code, 1009);
    // Past 4x the limit uWS cuts the connection itself, without a close frame.
    const huge = await connect(s);
    huge.send('x'.repeat(300 * 1024));
    t.equal((await huge.closed).code, 1006);
    c.send({ type: 'ping', id: 'survivor' });
    await c.next((m) => m.id === 'survivor');
  });

  await t.test('plain GET /ws is 426, POST /ws is 405', async (t) => {
    const g = await s.get('/ws');
    t.equal(g.status, 426);
    t.equal(g.json.error.code, 'UPGRADE_REQUIRED');
    t.equal(g.headers.get('upgrade'), 'websocket');
    const p = await s.post('/ws', {});
    t.equal(p.status, 405);
  });
});

t.test('the upgrade and every predict count against the per-user limit', async (t) => {
  const s = await startTestServer(t, { rateLimitRpm: 2 });
  const c = await connect(s, { 'x-user-id': 'u1' });
  closeAll(t, [c]);
  c.send({ type: 'predict', id: 1, prompt: 'list users' });
  t.equal((await c.next(final(1))).type, 'prediction');
  c.send({ type: 'predict', id: 2, prompt: 'list users' });
  const e = await c.next(final(2));
  t.equal(e.code, 'RATE_LIMITED');
  t.equal(c.ws.readyState, WebSocket.OPEN);
  const refused = await new Promise<{ status: number; retry: string | undefined; body: any }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl(s), { headers: { 'x-user-id': 'u1' } });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }));
    });
    ws.on('open', () => reject(new Error('upgrade accepted over the limit')));
    ws.on('error', () => undefined);
  });
  t.equal(refused.status, 429);
  t.equal(refused.body.error.code, 'RATE_LIMITED');
  t.ok(Number(refused.retry) >= 1, 'Retry-After');
  const other = await connect(s, { 'x-user-id': 'u2' });
  closeAll(t, [other]);
  t.equal(other.ws.readyState, WebSocket.OPEN, 'another user is let in');
});

t.test('backpressure: a client that stops reading', async (t) => {
  const s = await startTestServer(t, {}, { OPENSESAME_WS_RATE_PER_SECOND: '0', OPENSESAME_WS_BACKPRESSURE_BYTES: '1024' });
  const c = await connect(s);
  closeAll(t, [c]);
  const body = { prompt: 'update the billing address of this customer', max_predictions: 20 };
  // Warm the prediction cache (its write is asynchronous) so the flood is answered fast.
  for (let i = 0; ; i++) {
    c.send({ type: 'predict', id: `warm-${i}`, ...body });
    if ((await c.next(final(`warm-${i}`))).metadata.performance_metrics.cache_hit) break;
    await sleep(20);
  }
  c.ws.pause();
  const N = 1500;
  for (let i = 0; i < N; i += 16) {
    for (let j = i; j < Math.min(N, i + 16); j++) c.send({ type: 'predict', id: j, ...body });
    await sleep(4);
  }
  await sleep(200);
  c.ws.resume();
  await Promise.all(Array.from({ length: N }, (_, i) => c.next(final(i), 30_000)));
  const terminal = c.log.filter((m) => typeof m.id === 'number');
  t.equal(terminal.length, N, 'exactly one answer per request');
  t.equal(new Set(terminal.map((m) => m.id)).size, N);
  const errors = terminal.filter((m) => m.type === 'error');
  t.same([...new Set(errors.map((m) => `${m.code} ${m.message}`))].filter((e) => !e.startsWith('OVERLOADED')), [], 'errors are explicit OVERLOADED refusals');
  const reasons = errors.map((m) => m.details?.reason);
  t.comment(`${N - errors.length} answered, ${reasons.filter((r) => r === 'backpressure').length} refused by backpressure, ${reasons.filter((r) => r === 'in_flight_limit').length} by the in-flight cap`);
  t.ok(terminal.length - errors.length > 0, 'predictions got through');
  t.ok(errors.some((m) => m.details?.reason === 'backpressure'), 'the bounded queue overflowed while the client was not reading');
  c.send({ type: 'ping', id: 'alive' });
  await c.next((m) => m.id === 'alive');
  t.equal((await s.get('/health')).status, 200);
});

t.test('with an LLM: closing the connection cancels the LLM calls of its unanswered predictions', async (t) => {
  const standin = await startStandin({ protocol: 'anthropic', behaviour: { kind: 'hang' } });
  const s = await startTestServer(t, {}, { ANTHROPIC_API_KEY: 'sk-ant-test-ws', ANTHROPIC_BASE_URL: standin.url, OPENSESAME_LLM_DEADLINE_MS: '20000' });
  t.teardown(() => standin.close());
  const c = await connect(s);
  closeAll(t, [c]);
  c.send({ type: 'predict', id: 'gone', prompt: 'change the plan of this subscription', max_predictions: 3 });
  await c.next((m) => m.id === 'gone' && m.stage === 'fast');
  t.ok(await until(() => standin.calls.length === 1), 'the LLM is asked after the fast answer');
  c.ws.close(1000);
  // Without the cancellation the call stays open until the 20 s deadline.
  t.ok(await until(() => standin.calls[0]!.abandoned), 'the LLM request is closed soon after the client left');
  const other = await connect(s);
  closeAll(t, [other]);
  other.send({ type: 'ping', id: 'p' });
  t.same(await other.next((m) => m.id === 'p'), { type: 'pong', id: 'p' }, 'still serving');
});

t.test('with an LLM: fast then final; shutdown closes with 1001 after in-flight work', async (t) => {
  const standin = await startStandin({ protocol: 'anthropic', behaviour: { kind: 'answer', delayMs: 300 } });
  const s = await startTestServer(t, {}, { ANTHROPIC_API_KEY: 'sk-ant-test-ws', ANTHROPIC_BASE_URL: standin.url, OPENSESAME_LLM_DEADLINE_MS: '3000', OPENSESAME_WS_MAX_IN_FLIGHT: '3' });
  t.teardown(() => standin.close());
  const c = await connect(s);
  const idle = await connect(s);
  closeAll(t, [c, idle]);

  await t.test('fast then final for the same id', async (t) => {
    c.send({ type: 'predict', id: 'llm-1', prompt: 'change the plan of this subscription', max_predictions: 3 });
    const fast = await c.next((m) => m.id === 'llm-1' && m.stage === 'fast');
    const fin = await c.next(final('llm-1'));
    t.ok(c.log.indexOf(fast) < c.log.indexOf(fin), 'fast arrives first');
    t.equal(fast.metadata.ai_provider, 'ml_ranker');
    t.equal(fast.metadata.cost_aware_routing.status, 'pending');
    t.equal(fast.metadata.performance_metrics.llm_latency_ms, null);
    t.equal(fin.type, 'prediction');
    t.equal(fin.metadata.ai_provider, 'anthropic');
    t.equal(fin.metadata.processing_method, 'ml_ranker+llm_rrf');
    t.ok(fin.metadata.performance_metrics.llm_latency_ms >= 250, 'LLM latency covers the stand-in delay');
    t.ok(fin.predictions.some((p: any) => p.ai_provider === 'anthropic'));
    t.equal(standin.calls.length, 1);
  });

  await t.test('more than OPENSESAME_WS_MAX_IN_FLIGHT at once: OVERLOADED for the excess', async (t) => {
    // Each prediction waits ~300 ms for the stand-in, so all five overlap.
    const prompts = ['rename a project', 'add a webhook', 'rotate an api key', 'remove a member', 'download an invoice'];
    prompts.forEach((prompt, i) => c.send({ type: 'predict', id: `cap-${i}`, prompt }));
    const answers = await Promise.all(prompts.map((_, i) => c.next(final(`cap-${i}`))));
    t.same(answers.map((a) => a.type), ['prediction', 'prediction', 'prediction', 'error', 'error']);
    t.equal(answers[3].code, 'OVERLOADED');
    t.same(answers[4].details, { reason: 'in_flight_limit', limit: 3 });
  });

  await t.test('shutdown: in-flight work finishes, then every socket gets 1001', async (t) => {
    c.send({ type: 'predict', id: 'sd', prompt: 'invite a member to the workspace', max_predictions: 3 });
    await c.next((m) => m.id === 'sd' && m.stage === 'fast');
    const closing = s.server.close();
    const idleClose = await idle.closed;
    t.equal(idleClose.code, 1001, 'an idle connection closes at once with 1001');
    const fin = await c.next(final('sd'));
    t.equal(fin.type, 'prediction', 'the in-flight request is answered');
    t.equal((await c.closed).code, 1001);
    await closing;
    const refused = new WebSocket(wsUrl(s));
    await new Promise((resolve) => refused.once('error', resolve));
  });
});
