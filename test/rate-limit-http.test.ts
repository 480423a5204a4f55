/**
 * The per-user rate limit over HTTP (OPENSESAME_RATE_LIMIT_RPM = 5): 429 RATE_LIMITED
 * with Retry-After on the sixth request, X-RateLimit-* headers on every answer of a
 * rate-limited route (errors too), users kept apart by X-User-ID, and clients without
 * one keyed by their address. Two source addresses come from the loopback /8
 * (127.0.0.1 and 127.0.0.2), bound with node:http's localAddress.
 */
import http from 'node:http';
import t from 'tap';
import { startTestServer } from './helpers/server';

const LIMIT = 5;

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: any;
}

function request(port: number, method: string, path: string, opts: { body?: unknown; userId?: string; from?: string; contentType?: string } = {}): Promise<Res> {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.userId !== undefined) headers['x-user-id'] = opts.userId;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, localAddress: opts.from ?? '127.0.0.1', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('rate limiting over HTTP', async (t) => {
  const s = await startTestServer(t, { rateLimitRpm: LIMIT, rateLimitBlockMinutes: 5, taskTimeoutMs: 20_000 });
  const port = s.server.port;
  const predict = (opts: { userId?: string; from?: string; body?: unknown } = {}) => request(port, 'POST', '/predict', { body: { prompt: 'list all users' }, ...opts });

  await t.test('the sixth request from one X-User-ID is refused with 429 and Retry-After', async (t) => {
    const remaining: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const r = await predict({ userId: 'alice' });
      t.equal(r.status, 200, `request ${i + 1} is served`);
      t.equal(r.headers['x-ratelimit-limit'], String(LIMIT));
      t.ok(Number(r.headers['x-ratelimit-reset']) >= 1 && Number(r.headers['x-ratelimit-reset']) <= 60, 'reset within the minute');
      remaining.push(Number(r.headers['x-ratelimit-remaining']));
    }
    t.same(remaining, [4, 3, 2, 1, 0], 'X-RateLimit-Remaining counts down');
    const sixth = await predict({ userId: 'alice' });
    t.equal(sixth.status, 429);
    t.equal(sixth.json.error.code, 'RATE_LIMITED');
    const retry = Number(sixth.headers['retry-after']);
    t.ok(Number.isInteger(retry) && retry >= 1, `Retry-After is whole seconds (${retry})`);
    t.ok(retry <= 5 * 60, 'no longer than the block');
    t.equal(sixth.headers['x-ratelimit-limit'], String(LIMIT));
    t.equal(sixth.headers['x-ratelimit-remaining'], '0');
    t.ok(sixth.headers['x-ratelimit-reset'], 'X-RateLimit-Reset on the refusal too');
    t.equal(sixth.headers['x-request-id'] !== undefined, true);

    const again = await predict({ userId: 'alice' });
    t.equal(again.status, 429, 'the user stays blocked');
  });

  await t.test('another user is unaffected', async (t) => {
    const r = await predict({ userId: 'bob' });
    t.equal(r.status, 200);
    t.equal(r.headers['x-ratelimit-remaining'], String(LIMIT - 1));
  });

  await t.test('error answers of rate-limited routes count and carry the headers', async (t) => {
    const bad = await request(port, 'POST', '/predict', { body: '{"prompt":', userId: 'carol' });
    t.equal(bad.status, 400);
    t.equal(bad.headers['x-ratelimit-limit'], String(LIMIT), 'a 400 carries X-RateLimit-Limit');
    t.equal(bad.headers['x-ratelimit-remaining'], String(LIMIT - 1));
    t.ok(bad.headers['x-ratelimit-reset']);
    const notFound = await request(port, 'POST', '/feedback', { body: { spec_id: 'nope', events: [{ api_call: '/users' }] }, userId: 'carol' });
    t.equal(notFound.status, 404);
    t.equal(notFound.headers['x-ratelimit-remaining'], String(LIMIT - 2), 'a 404 too');
    const wrongType = await request(port, 'POST', '/specs', { body: 'x', contentType: 'text/plain', userId: 'carol' });
    t.equal(wrongType.status, 415);
    t.equal(wrongType.headers['x-ratelimit-remaining'], String(LIMIT - 3), 'a 415 too');
  });

  await t.test('the limit is per user across /predict, POST /specs and /feedback', async (t) => {
    const id = 'dave';
    t.equal((await predict({ userId: id })).status, 200);
    t.equal((await predict({ userId: id })).status, 200);
    t.equal((await request(port, 'POST', '/feedback', { body: { events: [{ api_call: 'GET /users' }] }, userId: id })).status, 202);
    t.equal((await request(port, 'POST', '/feedback', { body: { events: [{ api_call: 'GET /users' }] }, userId: id })).status, 202);
    const spec = { openapi: '3.0.3', info: { title: 'Tiny', version: '1' }, paths: { '/ping': { get: { summary: 'Ping', responses: { '200': { description: 'ok' } } } } } };
    const fifth = await request(port, 'POST', '/specs?spec_id=tiny', { body: spec, userId: id });
    t.equal(fifth.status, 201);
    t.equal(fifth.headers['x-ratelimit-remaining'], '0');
    const sixth = await request(port, 'POST', '/specs?spec_id=tiny', { body: spec, userId: id });
    t.equal(sixth.status, 429);
    t.ok(sixth.headers['retry-after']);
  });

  await t.test('routes that are not rate-limited stay open and carry no rate-limit headers', async (t) => {
    for (const path of ['/health', '/specs', '/metrics', '/']) {
      const r = await request(port, 'GET', path, { userId: 'alice' });
      t.equal(r.status, 200, `GET ${path} for a blocked user`);
      t.equal(r.headers['x-ratelimit-limit'], undefined, `no X-RateLimit-Limit on GET ${path}`);
    }
  });

  await t.test('a client without X-User-ID is keyed by its address', async (t) => {
    for (let i = 0; i < LIMIT; i++) t.equal((await predict({ from: '127.0.0.1' })).status, 200, `anonymous request ${i + 1} from 127.0.0.1`);
    const refused = await predict({ from: '127.0.0.1' });
    t.equal(refused.status, 429, 'the sixth anonymous request from the same address is refused');
    t.equal(refused.json.error.code, 'RATE_LIMITED');
    const blank = await predict({ from: '127.0.0.1', userId: '   ' });
    t.equal(blank.status, 429, 'a blank X-User-ID counts as no id');

    const other = await predict({ from: '127.0.0.2' });
    t.equal(other.status, 200, 'another address is unaffected');
    t.equal(other.headers['x-ratelimit-remaining'], String(LIMIT - 1));
    const named = await predict({ from: '127.0.0.1', userId: 'erin' });
    t.equal(named.status, 200, 'a named user on the blocked address is keyed by the id');
  });

  await t.test('refusals are counted in /metrics', async (t) => {
    const m = await s.get('/metrics');
    const line = m.text.split('\n').find((l) => l.startsWith('opensesame_rate_limited_total'));
    t.ok(line, 'opensesame_rate_limited_total is exported');
    t.ok(Number(line!.split(' ')[1]) >= 5, `refusals counted (${line})`);
    t.match(m.text, /opensesame_http_requests_total\{route="\/predict",method="POST",status="429"\} \d+/);
  });
});

t.test('OPENSESAME_RATE_LIMIT_RPM=0 turns the limit and its headers off', async (t) => {
  const s = await startTestServer(t, { rateLimitRpm: 0, taskTimeoutMs: 20_000 });
  for (let i = 0; i < LIMIT + 3; i++) {
    const r = await request(s.server.port, 'POST', '/predict', { body: { prompt: 'list all users' }, userId: 'alice' });
    t.equal(r.status, 200);
    if (i === 0) t.equal(r.headers['x-ratelimit-limit'], undefined);
  }
});
