/**
 * Hostile and broken HTTP clients, spoken with raw node:net sockets against a real server:
 * aborted uploads, slow-loris headers, oversize chunked bodies and pipelining. The server
 * must keep serving everyone else, and its in-flight request count (what graceful
 * shutdown waits for) must come back to zero.
 */
import net from 'node:net';
import t, { type Test } from 'tap';
import { startTestServer, type TestServer } from './helpers/server';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Split a byte stream of HTTP/1.1 responses (uWS always sends Content-Length). */
function parseResponses(buf: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + len) break;
    responses.push({ status, headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') });
    at = end + 4 + len;
  }
  return { responses, rest: buf.subarray(at) };
}

/** A raw connection that collects everything the server sends and notes when it closes. */
class RawClient {
  readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  closed = false;
  closedAt = 0;
  readonly ready: Promise<void>;
  private readonly closedP: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => this.chunks.push(d));
    this.socket.on('error', () => undefined); // EPIPE / ECONNRESET once the server hangs up
    this.closedP = new Promise((resolve) =>
      this.socket.on('close', () => {
        this.closed = true;
        this.closedAt = Date.now();
        resolve();
      }),
    );
    this.ready = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  responses(): RawResponse[] {
    return parseResponses(this.received).responses;
  }

  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** Resolves when `n` full responses arrived or the socket closed, or after timeoutMs. */
  async waitFor(n: number, timeoutMs: number): Promise<RawResponse[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.closed && this.responses().length < n) await sleep(10);
    return this.responses();
  }

  waitClosed(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closedP.then(() => true), sleep(timeoutMs).then(() => false)]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

function post(path: string, body: string, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

function get(path: string, requestId?: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${requestId ? `X-Request-ID: ${requestId}\r\n` : ''}\r\n`;
}

async function stillServes(t: Test, s: TestServer, what: string): Promise<void> {
  const r = await s.post('/predict', { prompt: 'list all users' });
  t.equal(r.status, 200, `a normal client is served ${what}`, { body: r.json });
}

t.test('hostile clients against one server', async (t) => {
  // A generous task deadline: this suite is about connections, not a loaded machine's 504s.
  const s = await startTestServer(t, { taskTimeoutMs: 20_000 });
  const port = s.server.port;
  const http = s.server.ctx.http;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const c = new RawClient(port);
    clients.push(c);
    await c.ready;
    return c;
  };
  t.teardown(() => {
    for (const c of clients) c.destroy();
  });

  await t.test('headers and half a body, then the client aborts', async (t) => {
    const c = await open();
    c.write(`POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"prompt":"list us`);
    t.ok(await waitUntil(() => http.activeRequests === 1, 2000), 'the half-read request is in flight');
    c.destroy();
    t.ok(await waitUntil(() => http.activeRequests === 0, 2000), 'in-flight count back to 0 after the abort');
    await stillServes(t, s, 'after the abort');
    t.equal(http.activeRequests, 0);
  });

  await t.test('the client hangs up while its prediction is being computed', async (t) => {
    const c = await open();
    // A fresh prompt, so the answer needs the worker (no cache hit answering at once).
    c.write(post('/predict', JSON.stringify({ prompt: `show the invoices of one customer ${Date.now()}` })));
    await waitUntil(() => http.activeRequests === 1, 2000);
    c.destroy();
    t.ok(await waitUntil(() => http.activeRequests === 0, 5000), 'in-flight count back to 0');
    await sleep(300); // the worker's late answer must be dropped, not written to a dead socket
    await stillServes(t, s, 'after a hang-up during the computation');
  });

  await t.test('a slow-loris client is cut off by the idle timeout without blocking others', async (t) => {
    const c = await open();
    const started = Date.now();
    const line = 'POST /predict HTTP/1.1\r\nHost: test\r\nX-Slow: ' + 'a'.repeat(64);
    let served = 0;
    let failed = 0;
    // One header byte a second (never the blank line that ends the headers), while a
    // well-behaved client keeps making requests.
    for (let i = 0; i < 16 && !c.closed; i++) {
      c.write(line[i % line.length]!);
      const r = await s.get('/specs');
      if (r.status === 200) served++;
      else failed++;
      await c.waitClosed(1000);
    }
    const closed = await c.waitClosed(500);
    t.ok(closed, 'the server closed the slow connection');
    const after = (c.closedAt - started) / 1000;
    t.ok(after >= 5 && after <= 16, `closed after ${after.toFixed(1)} s (uWS idle timeout ~10 s)`);
    t.equal(c.responses().length, 0, 'no response was ever produced for the partial request');
    t.ok(served >= 5, `others were served meanwhile (${served})`);
    t.equal(failed, 0);
    t.equal(http.activeRequests, 0, 'nothing left in flight');
  });

  await t.test('an oversize body streamed without Content-Length gets 413 and a closed connection', async (t) => {
    const limit = s.server.ctx.config.maxBodyBytes;
    const c = await open();
    c.write('POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const piece = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    // Stream one piece past the limit and stop, without ever ending the chunked body: an
    // answer can then only come from the limit being crossed, and no byte arrives after
    // the server closes (bytes written to a closed socket make the peer reset the
    // connection, which can discard the 413 before the client reads it).
    while (sent <= limit && c.received.length === 0 && !c.closed) {
      c.write(`${piece.length.toString(16)}\r\n`);
      c.write(piece);
      c.write('\r\n');
      sent += piece.length;
      await sleep(2);
    }
    const [res] = await c.waitFor(1, 3000);
    t.ok(res, 'a response arrived');
    t.equal(res?.status, 413);
    t.equal(JSON.parse(res?.body ?? '{}').error?.code, 'BODY_TOO_LARGE');
    t.ok(sent > limit, `the answer came once the limit (${limit}) was crossed (sent ${sent})`);
    t.ok(sent <= limit + 4 * piece.length, 'and not long after');
    t.ok(await c.waitClosed(3000), 'the connection is closed after the 413');
    t.ok(await waitUntil(() => http.activeRequests === 0, 2000), 'nothing left in flight');
    await stillServes(t, s, 'after the oversize upload');
  });

  await t.test('a declared Content-Length over the limit is refused before the body', async (t) => {
    const c = await open();
    c.write(`POST /feedback HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{"events":`);
    const [res] = await c.waitFor(1, 3000);
    t.equal(res?.status, 413);
    t.ok(await c.waitClosed(3000), 'connection closed');
  });

  await t.test('pipelined requests are answered in order', async (t) => {
    const c = await open();
    c.write(get('/', 'pipe-1') + get('/specs', 'pipe-2') + get('/specs/saas', 'pipe-3') + get('/nowhere', 'pipe-4'));
    const res = await c.waitFor(4, 3000);
    t.same(res.map((r) => r.status), [200, 200, 200, 404]);
    t.same(res.map((r) => r.headers['x-request-id']), ['pipe-1', 'pipe-2', 'pipe-3', 'pipe-4'], 'in request order');
    t.equal(JSON.parse(res[2]!.body).spec_id, 'saas');
    t.notOk(c.closed, 'the connection stays open');

    // Predictions answered from the cache are pipelined too (warm the cache first).
    const body = JSON.stringify({ prompt: 'create a project' });
    await s.post('/predict', body);
    const c2 = await open();
    c2.write(post('/predict', body, 'X-Request-ID: p-1\r\n') + get('/', 'p-2') + post('/predict', body, 'X-Request-ID: p-3\r\n'));
    const res2 = await c2.waitFor(3, 3000);
    t.same(res2.map((r) => r.status), [200, 200, 200]);
    t.same(res2.map((r) => r.headers['x-request-id']), ['p-1', 'p-2', 'p-3']);
    t.equal(JSON.parse(res2[0]!.body).metadata.performance_metrics.cache_hit, true);
  });

  await t.test('pipelining behind a pending asynchronous answer never mixes responses up', async (t) => {
    // uWS answers pipelined requests only while each previous answer is already written
    // ("sync pipelining"); a request arriving behind a pending one makes it close the
    // connection rather than risk answering out of order. Either way: no garbled or
    // misattributed answer, nothing leaked, and the server keeps serving.
    const c = await open();
    c.write(post('/predict', JSON.stringify({ prompt: `list the tasks of a project ${Date.now()}` }), 'X-Request-ID: a-1\r\n') + get('/', 'a-2'));
    const res = await c.waitFor(2, 5000);
    if (res.length === 2) {
      t.comment('async pipelining answered in order');
      t.same(res.map((r) => r.headers['x-request-id']), ['a-1', 'a-2'], 'answered in order');
    } else {
      t.comment('async pipelining: uWS closed the connection');
      t.ok(await c.waitClosed(2000), 'uWS closed the connection instead');
      t.equal(res.length, 0, 'without a partial answer');
    }
    t.ok(await waitUntil(() => http.activeRequests === 0, 5000), 'nothing left in flight');
    await stillServes(t, s, 'after async pipelining');
  });

  await t.test('garbage instead of HTTP gets no answer and does not affect others', async (t) => {
    const c = await open();
    c.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])); // a TLS ClientHello
    c.write('\r\n\r\nGET / HTTP/9.9\r\n\0\0\0\r\n\r\n');
    await stillServes(t, s, 'while a garbage connection is open');
    await sleep(200);
    t.equal(c.responses().length, 0, 'nothing is served to the garbage connection');
    // It is dropped by the same idle timeout as the slow-loris client (not waited for here).
    c.destroy();
    t.equal(http.activeRequests, 0);
  });
});
