/**
 * Soak test: the built server (`node dist/server/main.js`, child process, free port, temp
 * LMDB dir, rate limit off) under mixed valid and invalid load for `--duration` seconds,
 * with the child's resident memory sampled every second from /proc/<pid>/status.
 *
 *   npm run bench:soak -- [--duration 300] [--connections 16] [--out soak.json]
 *
 * The mix (weights out of 100): predictions with unique prompts (25) and with a small set
 * of repeated prompts (25, cache hits), predictions with history (10), feedback (10),
 * malformed JSON (6), attacks (8), unknown spec ids (6), wrong content type (5) and bodies
 * over the size limit (5, declared Content-Length, the connection is dropped after 413).
 * Each kind has the status it must get; anything else counts as unexpected.
 *
 * Prints one JSON document, then a markdown table: requests, statuses, latency
 * percentiles (autocannon's names: p50, p97_5, p99), RSS start/peak/end and growth. At
 * the end the LMDB data file is searched for the prompts' marker word and for the user
 * ids sent, which must not be stored in clear.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServerProcess, type ServerProcess } from './lib/server-process';
import { LatencyRecorder, summarize, type LatencySummary } from './lib/stats';

interface Options {
  durationS: number;
  connections: number;
  out: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { durationS: 300, connections: 16, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    const int = (name: string, min: number, max: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name}: expected an integer in ${min}..${max}`);
      return v;
    };
    if (flag === '--duration') o.durationS = int('duration', 1, 86_400);
    else if (flag === '--connections') o.connections = int('connections', 1, 1024);
    else if (flag === '--out') o.out = value();
    else throw new Error(`unknown flag "${flag}" (known: --duration, --connections, --out)`);
  }
  return o;
}

// ---- the mix ------------------------------------------------------------------------

/** A word that appears in every prompt sent, searched for in the data file afterwards. */
const MARKER = 'zanzibarquux';
const USER_PREFIX = 'soak-user-';
const MAX_BODY = 1024 * 1024; // the server's default OPENSESAME_MAX_BODY_BYTES

const REPEATED = [
  'create a new user account',
  'list all projects',
  'update this user',
  'add a product to my cart',
  'close the support ticket',
  'show the invoices of this customer',
  'delete the project',
  'list the tasks of a project',
].map((p) => `${p} ${MARKER}`);
const VERBS = ['list', 'create', 'update', 'delete', 'show', 'find', 'archive', 'export'];
const NOUNS = ['users', 'projects', 'tasks', 'invoices', 'orders', 'tickets', 'products', 'comments', 'teams'];
const ATTACKS = ["users' OR 1=1 --", 'show <script>alert(1)</script>', 'read ../../../etc/passwd', 'ping; cat /etc/shadow', 'mail jane.roe@example.com'];

interface Kind {
  name: string;
  weight: number;
  expect: number;
  request(n: number): { path: string; body: string | Buffer; contentType: string; oversize?: boolean };
}

const json = (v: unknown) => JSON.stringify(v);
const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

const KINDS: Kind[] = [
  { name: 'predict_unique', weight: 25, expect: 200, request: (n) => ({ path: '/predict', contentType: 'application/json', body: json({ prompt: `${pick(VERBS, n)} the ${pick(NOUNS, n >> 3)} ${MARKER} number ${n}` }) }) },
  { name: 'predict_repeat', weight: 25, expect: 200, request: (n) => ({ path: '/predict', contentType: 'application/json', body: json({ prompt: pick(REPEATED, n) }) }) },
  {
    name: 'predict_history',
    weight: 10,
    expect: 200,
    request: (n) => ({ path: '/predict', contentType: 'application/json', body: json({ prompt: `update this user ${MARKER}`, history: [{ api_call: `/users/${n % 1000}`, method: 'GET' }, { api_call: 'GET /projects' }], max_predictions: 5 }) }),
  },
  { name: 'feedback', weight: 10, expect: 202, request: (n) => ({ path: '/feedback', contentType: 'application/json', body: json({ session_id: `s${n % 97}`, events: [{ api_call: 'GET /users' }, { api_call: `/users/${n % 50}`, method: 'GET' }, { api_call: 'GET /projects' }] }) }) },
  { name: 'malformed_json', weight: 6, expect: 400, request: (n) => ({ path: pick(['/predict', '/feedback', '/specs'], n), contentType: 'application/json', body: `{"prompt": "list ${MARKER}` + pick(['', ',', '}}', '\u0000'], n) }) },
  { name: 'attack', weight: 8, expect: 400, request: (n) => ({ path: '/predict', contentType: 'application/json', body: json({ prompt: `${pick(ATTACKS, n)} ${MARKER}` }) }) },
  { name: 'unknown_spec', weight: 6, expect: 404, request: (n) => ({ path: '/predict', contentType: 'application/json', body: json({ prompt: `list users ${MARKER}`, spec_id: `missing-${n % 5}` }) }) },
  { name: 'wrong_content_type', weight: 5, expect: 415, request: () => ({ path: '/predict', contentType: 'text/plain', body: `list users ${MARKER}` }) },
  { name: 'oversize', weight: 5, expect: 413, request: () => ({ path: '/predict', contentType: 'application/json', body: Buffer.alloc(64 * 1024, 0x20), oversize: true }) },
];
const TOTAL_WEIGHT = KINDS.reduce((a, k) => a + k.weight, 0);

/** Deterministic mix: a small LCG, so two runs send the same sequence. */
function makeChooser(seed: number): () => Kind {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    let r = (s / 2 ** 32) * TOTAL_WEIGHT;
    for (const k of KINDS) if ((r -= k.weight) < 0) return k;
    return KINDS[0]!;
  };
}

// ---- the client ---------------------------------------------------------------------

/** One request; resolves with the status, or 0 on a connection error before any answer. */
function send(agent: http.Agent, port: number, req: ReturnType<Kind['request']>, userId: string): Promise<number> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number) => {
      if (!settled) {
        settled = true;
        resolve(status);
      }
    };
    const length = req.oversize ? MAX_BODY * 4 : Buffer.byteLength(req.body);
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: req.path,
        // Oversize uploads get their own connection: the server closes it after the 413.
        agent: req.oversize ? false : agent,
        headers: { 'content-type': req.contentType, 'content-length': length, 'x-user-id': userId },
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', () => done(res.statusCode ?? 0));
        if (req.oversize) r.destroy(); // stop uploading the rest
      },
    );
    r.on('error', () => done(0));
    // A request that never gets an answer must not stall its connection loop.
    r.setTimeout(30_000, () => {
      r.destroy();
      done(0);
    });
    if (req.oversize) r.write(req.body);
    else r.end(req.body);
  });
}

interface KindStats {
  sent: number;
  unexpected: number;
  statuses: Record<string, number>;
  latency: LatencyRecorder;
}

async function runLoad(server: ServerProcess, opts: Options, rss: RssSample[]): Promise<{ kinds: Map<string, KindStats>; all: LatencyRecorder; elapsedS: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const kinds = new Map<string, KindStats>(KINDS.map((k) => [k.name, { sent: 0, unexpected: 0, statuses: {}, latency: new LatencyRecorder() }]));
  const all = new LatencyRecorder();
  const started = performance.now();
  const endAt = started + opts.durationS * 1000;
  let n = 0;
  const sampler = setInterval(() => rss.push(rssOf(server.pid, Math.round((performance.now() - started) / 1000))), 1000);
  let lastReport = started;
  const loop = async (id: number) => {
    const choose = makeChooser(0x5eed + id);
    while (performance.now() < endAt) {
      const kind = choose();
      const i = n++;
      const t0 = performance.now();
      const status = await send(agent, server.port, kind.request(i), `${USER_PREFIX}${i % 500}`);
      const ms = performance.now() - t0;
      const st = kinds.get(kind.name)!;
      st.sent++;
      st.statuses[String(status)] = (st.statuses[String(status)] ?? 0) + 1;
      if (status !== kind.expect) st.unexpected++;
      st.latency.record(ms);
      all.record(ms);
      if (id === 0 && performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        process.stderr.write(`soak: ${Math.round((lastReport - started) / 1000)} s, ${n} requests, RSS ${rss.at(-1)?.mb.toFixed(0)} MB\n`);
      }
    }
  };
  rss.push(rssOf(server.pid, 0));
  await Promise.all(Array.from({ length: opts.connections }, (_, i) => loop(i)));
  clearInterval(sampler);
  rss.push(rssOf(server.pid, Math.round((performance.now() - started) / 1000)));
  agent.destroy();
  return { kinds, all, elapsedS: (performance.now() - started) / 1000 };
}

interface RssSample {
  t: number;
  /** VmRSS, and its anonymous (heaps) and file-backed (mostly the LMDB map) parts, in MB. */
  mb: number;
  anon: number;
  file: number;
}

/** VmRSS, RssAnon and RssFile of a process in MB (NaN when gone). */
function rssOf(pid: number, t: number): RssSample {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    // the process is gone: NaN below
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { t, mb: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Whether `needle` occurs in any file under `dir` (LMDB's data.mdb and lock file). */
function foundInDir(dir: string, needle: string): boolean {
  const bytes = Buffer.from(needle, 'utf8');
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile() && fs.readFileSync(p).includes(bytes)) return true;
  }
  return false;
}

// ---- report -------------------------------------------------------------------------

const r1 = (v: number) => Math.round(v * 10) / 10;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const server = await startServerProcess({ env: { OPENSESAME_RATE_LIMIT_RPM: '0', OPENSESAME_LOG_LEVEL: 'error' } });
  try {
    process.stderr.write(`soak: server pid ${server.pid} ready in ${Math.round(server.startupMs)} ms; ${opts.durationS} s with ${opts.connections} connections\n`);
    const rss: RssSample[] = [];
    const { kinds, all, elapsedS } = await runLoad(server, opts, rss);
    const health = await fetch(`${server.url}/health`).then((r) => r.status, () => 0);

    const statuses: Record<string, number> = {};
    let unexpected = 0;
    for (const k of kinds.values()) {
      unexpected += k.unexpected;
      for (const [s, c] of Object.entries(k.statuses)) statuses[s] = (statuses[s] ?? 0) + c;
    }
    const ok = rss.filter((s) => Number.isFinite(s.mb));
    const mbs = ok.map((s) => s.mb);
    const mid = mbs[Math.floor(mbs.length / 2)]!;
    const first = ok[0]!;
    const last = ok.at(-1)!;
    const dataMb = fs.statSync(path.join(server.dataDir, 'data.mdb')).size / 2 ** 20;
    const report = {
      scenario: 'soak',
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', total_mem_gb: r1(os.totalmem() / 2 ** 30), node: process.version, load_avg_at_end: os.loadavg().map(r1) },
      options: { duration_s: opts.durationS, connections: opts.connections },
      startup_ms: Math.round(server.startupMs),
      requests: all.count,
      requests_per_s: r1(all.count / elapsedS),
      statuses,
      errors_by_status: Object.fromEntries(Object.entries(statuses).filter(([s]) => s === '0' || Number(s) >= 400)),
      unexpected,
      latency_ms: all.summary(),
      by_kind: Object.fromEntries(
        [...kinds].map(([name, k]) => {
          const l: LatencySummary = k.latency.count ? k.latency.summary() : summarize([]);
          return [name, { sent: k.sent, expected_status: KINDS.find((x) => x.name === name)!.expect, statuses: k.statuses, unexpected: k.unexpected, p50: l.p50, p99: l.p99 }];
        }),
      ),
      rss_mb: { start: r1(mbs[0]!), peak: r1(Math.max(...mbs)), end: r1(mbs.at(-1)!), growth: r1(mbs.at(-1)! - mbs[0]!), growth_second_half: r1(mbs.at(-1)! - mid), hwm: r1(server.rssHwmMb()) },
      // File-backed pages are mostly the LMDB map: page cache the kernel can reclaim, which
      // grows with the data file; anonymous memory is the heaps, where a leak would show.
      rss_anon_mb: { start: r1(first.anon), peak: r1(Math.max(...ok.map((s) => s.anon))), end: r1(last.anon), growth: r1(last.anon - first.anon) },
      rss_file_mb: { start: r1(first.file), end: r1(last.file), growth: r1(last.file - first.file) },
      lmdb_data_file_mb: r1(dataMb),
      rss_timeline_mb: ok.filter((_, i) => i % Math.max(1, Math.floor(ok.length / 10)) === 0 || i === ok.length - 1).map((s) => ({ t: s.t, rss: r1(s.mb), anon: r1(s.anon), file: r1(s.file) })),
      health_after: health,
      privacy: { prompt_marker_in_lmdb: foundInDir(server.dataDir, MARKER), user_id_in_lmdb: foundInDir(server.dataDir, USER_PREFIX) },
    };
    const text = JSON.stringify(report, null, 2);
    process.stdout.write(text + '\n\n');
    if (opts.out) fs.writeFileSync(opts.out, text + '\n');
    const l = report.latency_ms;
    const rows = [
      ['requests', `${report.requests} (${report.requests_per_s}/s over ${r1(elapsedS)} s, ${opts.connections} connections)`],
      ['statuses', Object.entries(statuses).map(([s, c]) => `${s === '0' ? 'network' : s}: ${c}`).join(', ')],
      ['unexpected statuses', String(unexpected)],
      ['latency p50 / p97_5 / p99 / max (ms)', `${l.p50} / ${l.p97_5} / ${l.p99} / ${l.max}`],
      ['valid predictions p50 / p99 (ms)', `${report.by_kind.predict_unique!.p50} / ${report.by_kind.predict_unique!.p99} (unique), ${report.by_kind.predict_repeat!.p50} / ${report.by_kind.predict_repeat!.p99} (repeated)`],
      ['RSS start / peak / end (MB)', `${report.rss_mb.start} / ${report.rss_mb.peak} / ${report.rss_mb.end}`],
      ['RSS growth (MB)', `${report.rss_mb.growth} (second half: ${report.rss_mb.growth_second_half})`],
      ['anonymous RSS start / peak / end (MB)', `${report.rss_anon_mb.start} / ${report.rss_anon_mb.peak} / ${report.rss_anon_mb.end}`],
      ['file-backed RSS start / end (MB); LMDB data file (MB)', `${report.rss_file_mb.start} / ${report.rss_file_mb.end}; ${report.lmdb_data_file_mb}`],
      ['/health after', String(health)],
      ['prompt / user id found in LMDB', `${report.privacy.prompt_marker_in_lmdb} / ${report.privacy.user_id_in_lmdb}`],
    ];
    process.stdout.write(`| soak (${report.machine.cpus} × ${report.machine.cpu_model}, node ${process.version}) | |\n|---|---|\n`);
    for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
