/**
 * Observability over HTTP: GET /metrics is valid Prometheus text (parsed line by line)
 * and, after real traffic, has every series an operator dashboards on; logs are pino
 * JSON lines carrying the response's X-Request-ID and never the prompt unless
 * OPENSESAME_LOG_PROMPTS is on at level debug; GET /health says 503 when a required
 * component is down. The LLM is the Anthropic stand-in, configured through the same
 * environment variables an operator would set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../server/logger';
import { startStandin } from './helpers/llm-standin';
import { startTestServer, type TestServer } from './helpers/server';

// ---- Prometheus text format (0.0.4) -------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help?: string;
  type?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parse and validate exposition text; throws with the line number on the first problem. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  const ownerOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue;
      const f = families.get(sample.slice(0, sample.length - suffix.length));
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
    }
    return undefined;
  };
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line.slice(0, 120)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`bad metric name, ${where}`);
      const f = family(name!);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP, ${where}`);
        f.help = rest ?? '';
      } else {
        if (f.type !== undefined) throw new Error(`second TYPE, ${where}`);
        if (f.samples.length) throw new Error(`TYPE after samples, ${where}`);
        if (!TYPES.has(rest ?? '')) throw new Error(`unknown type, ${where}`);
        f.type = rest;
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const [, name, labelText, valueText] = m;
    const labels: Record<string, string> = {};
    if (labelText) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const lm = LABEL.exec(labelText);
        if (!lm) throw new Error(`bad labels, ${where}`);
        if (lm[1]! in labels) throw new Error(`duplicate label, ${where}`);
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
        if (lm[3] === '') break;
      }
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value, ${where}`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`duplicate sample, ${where}`);
    seen.add(key);
    const f = ownerOf(name!);
    if (!f || !f.type) throw new Error(`sample without a TYPE line, ${where}`);
    f.samples.push({ name: name!, labels, value });
  });
  return families;
}

/** Histogram invariants: cumulative buckets ending at +Inf, equal to _count. */
function checkHistogram(f: Family): string[] {
  const problems: string[] = [];
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let e = series.get(key);
    if (!e) series.set(key, (e = { buckets: [] }));
    if (s.name.endsWith('_bucket')) e.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    else if (s.name.endsWith('_count')) e.count = s.value;
    else if (s.name.endsWith('_sum')) e.sum = s.value;
  }
  for (const [key, e] of series) {
    const b = e.buckets;
    for (let i = 1; i < b.length; i++) {
      if (!(b[i]![0] > b[i - 1]![0])) problems.push(`${f.name}${key}: le not increasing`);
      if (b[i]![1] < b[i - 1]![1]) problems.push(`${f.name}${key}: buckets not cumulative`);
    }
    if (b.at(-1)?.[0] !== Infinity) problems.push(`${f.name}${key}: no +Inf bucket`);
    if (b.at(-1)?.[1] !== e.count) problems.push(`${f.name}${key}: +Inf bucket != _count`);
    if (e.sum === undefined || e.sum < 0) problems.push(`${f.name}${key}: no _sum`);
  }
  return problems;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = [...families.values()].find((f) => f.samples.some((s) => s.name === name));
  const hits = fam?.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) ?? [];
  return hits.length ? hits.reduce((a, s) => a + s.value, 0) : undefined;
}

// ---- log capture ----------------------------------------------------------------------

class LogCapture extends Writable {
  readonly lines: string[] = [];
  private partial = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts.filter((l) => l.length));
    done();
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

async function predict(s: TestServer, prompt: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  return s.post('/predict', { prompt }, headers);
}

// ---- tests ----------------------------------------------------------------------------

t.test('metrics and logs after mixed traffic, with an LLM stand-in', async (t) => {
  const SLOW = 'slowpoke';
  const standin = await startStandin({
    protocol: 'anthropic',
    // A prompt containing SLOW makes the stand-in miss the deadline.
    behaviour: (body) => (JSON.stringify(body).includes(SLOW) ? { kind: 'answer', delayMs: 4000 } : { kind: 'answer' }),
  });
  t.teardown(() => standin.close());
  const logs = new LogCapture();
  const s = await startTestServer(
    t,
    { rateLimitRpm: 4, taskTimeoutMs: 20_000, logPrompts: false },
    { ANTHROPIC_API_KEY: 'sk-ant-observability-test', ANTHROPIC_BASE_URL: standin.url, OPENSESAME_LLM_DEADLINE_MS: '1500' },
    { logger: createLogger('debug', logs) },
  );
  let user = 0;
  const fresh = () => ({ 'x-user-id': `user-${user++}` });

  // Traffic: LLM-refined predictions, a cache hit, a deadline miss, guardrail blocks,
  // rate-limit refusals, bad input and unknown routes.
  const first = await predict(s, 'create a new user account', fresh());
  t.equal(first.status, 200);
  t.equal(first.json.metadata.cost_aware_routing.status, 'ok', 'the LLM stand-in answered');
  const hit = await predict(s, 'create a new user account', fresh());
  t.equal(hit.json.metadata.performance_metrics.cache_hit, true);
  const miss = await predict(s, `list projects ${SLOW}`, fresh());
  t.equal(miss.status, 200, 'a slow LLM still gives the ML answer');
  t.equal(miss.json.metadata.cost_aware_routing.status, 'deadline');
  t.equal((await predict(s, 'show <script>alert(1)</script> users', fresh())).status, 400);
  t.equal((await predict(s, "users' OR 1=1 --", fresh())).status, 400);
  for (let i = 0; i < 6; i++) await predict(s, 'list all users', { 'x-user-id': 'greedy' });
  t.equal((await s.post('/predict', '{"prompt":', fresh())).status, 400);
  t.equal((await s.get('/nowhere')).status, 404);

  await t.test('GET /metrics is valid Prometheus text with the expected series', async (t) => {
    const res = await s.get('/metrics');
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    let families = new Map<string, Family>();
    t.doesNotThrow(() => (families = parseExposition(res.text)), 'parses line by line');
    for (const f of families.values()) {
      t.ok(f.help !== undefined && f.type !== undefined, `${f.name} has HELP and TYPE`);
      if (f.type === 'histogram') t.same(checkHistogram(f), [], `${f.name} is a consistent histogram`);
    }
    const v = (name: string, labels: Record<string, string> = {}) => value(families, name, labels);

    t.ok(v('opensesame_http_requests_total', { route: '/predict', status: '200' })! >= 3, 'requests by route and status: 200');
    t.ok(v('opensesame_http_requests_total', { route: '/predict', status: '400' })! >= 3, '400');
    t.ok(v('opensesame_http_requests_total', { route: '/predict', status: '429' })! >= 2, '429');
    t.ok(v('opensesame_http_requests_total', { route: 'unmatched', status: '404' })! >= 1, '404 on an unknown route');
    t.ok(v('opensesame_request_duration_seconds_count', { route: '/predict' })! >= 10, 'total latency histogram');
    t.ok(v('opensesame_ml_scoring_duration_seconds_count')! >= 2, 'ML latency histogram');
    t.ok(v('opensesame_llm_duration_seconds_count', { provider: 'anthropic', outcome: 'ok' })! >= 1, 'LLM latency histogram');
    t.ok(v('opensesame_cache_requests_total', { cache: 'predictions', result: 'hit' })! >= 1, 'cache hits');
    t.ok(v('opensesame_cache_requests_total', { cache: 'predictions', result: 'miss' })! >= 2, 'cache misses');
    t.equal(v('opensesame_guardrail_blocks_total', { rule: 'xss' }), 1, 'guardrail blocks by rule: xss');
    t.equal(v('opensesame_guardrail_blocks_total', { rule: 'sql_injection' }), 1, 'sql_injection');
    t.ok(v('opensesame_rate_limited_total')! >= 2, 'rate-limit refusals');
    t.ok(v('opensesame_llm_calls_total', { provider: 'anthropic', outcome: 'ok' })! >= 1, 'LLM calls');
    t.ok(v('opensesame_llm_deadline_misses_total')! >= 1, 'LLM deadline misses');
    t.ok(v('opensesame_llm_cost_usd_total')! > 0, 'LLM cost');
    t.ok(v('opensesame_pool_queue_depth') !== undefined && v('opensesame_pool_queue_depth')! >= 0, 'pool queue depth');
    const util = v('opensesame_pool_utilization');
    t.ok(util !== undefined && util >= 0 && util <= 1, `pool utilisation in [0, 1] (${util})`);
    t.equal(v('opensesame_pool_threads'), 1);
    t.ok(v('opensesame_process_resident_memory_bytes')! > 0, 'process metrics');
    t.ok(v('opensesame_nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
  });

  await t.test('log lines are JSON and carry the X-Request-ID of their response', async (t) => {
    const mine = await predict(s, 'list the tasks of a project', { ...fresh(), 'x-request-id': 'obs-given-42' });
    t.equal(mine.headers.get('x-request-id'), 'obs-given-42', 'a sane client id is echoed');
    const generated = await predict(s, 'list the tasks of a project', fresh());
    const id = generated.headers.get('x-request-id')!;
    t.match(id, /^[\w.:-]+$/);
    const hostile = await predict(s, 'list the tasks of a project', { ...fresh(), 'x-request-id': 'a b\tc<script>' });
    t.not(hostile.headers.get('x-request-id'), 'a b\tc<script>', 'an unsafe client id is replaced');

    const records = logs.records(); // parses every line: throws on a non-JSON line
    t.ok(records.length > 10);
    for (const r of records) {
      t.equal(typeof r.level, 'number');
      t.equal(typeof r.time, 'number');
      t.equal(r.service, 'opensesame-predictor');
    }
    for (const want of ['obs-given-42', id, hostile.headers.get('x-request-id')]) {
      const line = records.find((r) => r.request_id === want);
      t.ok(line, `a log line carries request_id ${want}`);
      t.equal(line?.route, '/predict');
      t.equal(line?.status, 200);
    }
    const ids = new Set(records.filter((r) => r.msg === 'request').map((r) => r.request_id));
    t.ok(ids.size >= 15, 'every request has its own line');
  });

  await t.test('no prompt text or user id stored in clear in LMDB', async (t) => {
    const files = fs.readdirSync(s.dataDir).map((f) => path.join(s.dataDir, f)).filter((f) => fs.statSync(f).isFile());
    t.ok(files.some((f) => f.endsWith('data.mdb')), 'the LMDB data file is there');
    const data = Buffer.concat(files.map((f) => fs.readFileSync(f)));
    t.ok(data.includes('List users'), 'the search can find stored text (a spec summary)');
    for (const secret of ['create a new user account', 'list the tasks of a project', SLOW, 'greedy', 'user-1']) {
      t.notOk(data.includes(secret), `"${secret}" is not in the data dir`);
    }
  });

  await t.test('no prompt text, user id or key in the logs', async (t) => {
    const text = logs.lines.join('\n');
    for (const secret of ['create a new user account', 'list the tasks of a project', SLOW, 'alert(1)', 'OR 1=1', 'greedy', 'user-1', 'sk-ant-observability-test']) {
      t.notOk(text.includes(secret), `"${secret}" is not logged`);
    }
  });
});

t.test('prompts are logged only with OPENSESAME_LOG_PROMPTS at level debug', async (t) => {
  const prompt = 'show me the zyxwvut invoices';
  for (const [level, logPrompts, expected] of [
    ['debug', true, true],
    ['info', true, false],
    ['debug', false, false],
  ] as const) {
    const logs = new LogCapture();
    const s = await startTestServer(t, { logPrompts, taskTimeoutMs: 20_000 }, {}, { logger: createLogger(level, logs) });
    const r = await predict(s, prompt);
    t.equal(r.status, 200);
    const lines = logs.records().filter((l) => JSON.stringify(l).includes('zyxwvut'));
    t.equal(lines.length > 0, expected, `level ${level}, log prompts ${logPrompts}: prompt ${expected ? '' : 'not '}logged`);
    if (expected) t.equal(lines[0]!.request_id, r.headers.get('x-request-id'), 'with its request id');
    await s.server.close();
  }
});

t.test('GET /health is 503 when a required component is down', async (t) => {
  // No bundled specs and none uploaded: the server starts, but cannot predict anything.
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-nospecs-'));
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
  const s = await startTestServer(t, { bundledSpecsDir: empty });
  const h = await s.get('/health');
  t.equal(h.status, 503);
  t.equal(h.json.status, 'down');
  t.equal(h.json.components.specs.status, 'down');
  t.equal(h.json.components.specs.count, 0);
  t.equal(h.json.components.store.status, 'ok', 'the other components still report ok');
  t.equal(h.json.components.pool.status, 'ok');
  const p = await s.post('/predict', { prompt: 'list users' });
  t.equal(p.status, 404);
  t.equal(p.json.error.code, 'SPEC_NOT_FOUND');

  // Uploading a spec brings it up.
  const up = await s.post('/specs?spec_id=saas', { openapi: '3.0.3', info: { title: 'Mini', version: '1' }, paths: { '/users': { get: { summary: 'List users', responses: { '200': { description: 'ok' } } } } } });
  t.equal(up.status, 201);
  const h2 = await s.get('/health');
  t.equal(h2.status, 200);
  t.equal(h2.json.components.specs.status, 'ok');
});
