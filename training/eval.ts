/**
 * `npm run eval -- --queries <file> --spec <file> [--json] [--url http://host:port]`
 *
 * Measures next-call prediction on RestBench-format data through the HTTP API: it starts
 * a real server on a free port (or uses --url), uploads the spec, then for step i of each
 * item asks POST /predict with the item's query as the prompt and the first i gold calls
 * as history. Reports top-1, top-3 and MRR (over the top 20) across all steps, and the
 * greedy-rollout full-path rate (the predictor fed its own top-1 answers as history).
 *
 * Loader repairs for known defects of published data, done generically: calls are
 * trimmed, and a gold call that is not an endpoint id is resolved through the spec's
 * path trie (so a template with a misnamed parameter maps to its endpoint).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCatalog, parseSpecText } from '../engine/catalog';
import { PathRouter } from '../engine/path-router';
import { resolveConfig } from '../server/config';
import { startServer, type RunningServer } from '../server/app';

interface Item {
  query: string;
  solution: string[];
}

export interface EvalReport {
  items: number;
  steps: number;
  top1: number;
  top3: number;
  mrr: number;
  full_path_rate: number;
  first_step: { steps: number; top1: number; top3: number };
  later_steps: { steps: number; top1: number; top3: number };
  repaired_calls: number;
  model_version: string;
  spec_id: string;
}

const DEPTH = 20;

function args(argv: string[]): { queries: string; spec: string; json: boolean; url?: string } {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const queries = get('--queries');
  const spec = get('--spec');
  if (!queries || !spec) throw new Error('usage: eval --queries <file> --spec <file> [--json] [--url URL]');
  return { queries, spec, json: argv.includes('--json'), url: get('--url') };
}

async function post(base: string, route: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': 'eval' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${route} -> ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function runEval(opts: { queries: string; spec: string; url?: string }): Promise<EvalReport> {
  const items: Item[] = JSON.parse(fs.readFileSync(opts.queries, 'utf8'));
  const specText = fs.readFileSync(opts.spec, 'utf8');
  const catalog = await buildCatalog(parseSpecText(specText));
  const ids = new Set(catalog.endpoints.map((e) => e.id));
  const router = new PathRouter(catalog.endpoints, catalog.basePath);
  let repaired = 0;
  const normalise = (call: string): string => {
    const c = call.trim().replace(/\s+/g, ' ');
    if (ids.has(c)) return c;
    const m = router.resolve(c);
    if (!m) return c;
    repaired++;
    return catalog.endpoints[m.endpoint]!.id;
  };
  const gold = items.map((it) => ({ query: it.query, solution: it.solution.map(normalise) }));

  let server: RunningServer | undefined;
  let tmp: string | undefined;
  let base = opts.url;
  if (!base) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-eval-'));
    const cfg = resolveConfig({ ...process.env, OPENSESAME_LOG_LEVEL: 'warn' }, { port: 0, host: '127.0.0.1', dataDir: tmp, rateLimitRpm: 0, specsDir: undefined });
    server = await startServer(cfg);
    base = `http://127.0.0.1:${server.port}`;
  }
  try {
    const uploaded = await post(base, '/specs', { spec: JSON.parse(specText), spec_id: 'eval-spec' });
    const specId: string = uploaded.spec_id;
    let steps = 0, top1 = 0, top3 = 0, rr = 0, fullPaths = 0;
    const first = { steps: 0, top1: 0, top3: 0 };
    const later = { steps: 0, top1: 0, top3: 0 };
    let modelVersion = '';
    for (const it of gold) {
      for (let i = 0; i < it.solution.length; i++) {
        const res = await post(base, '/predict', { prompt: it.query, history: it.solution.slice(0, i).map((c) => ({ api_call: c })), max_predictions: DEPTH, spec_id: specId });
        modelVersion = res.metadata.model_version;
        const names: string[] = res.predictions.map((p: { api_call: string }) => p.api_call);
        const rank = names.indexOf(it.solution[i]!);
        const bucket = i === 0 ? first : later;
        steps++;
        bucket.steps++;
        if (rank === 0) (top1++, bucket.top1++);
        if (rank >= 0 && rank < 3) (top3++, bucket.top3++);
        if (rank >= 0) rr += 1 / (rank + 1);
      }
      const history: { api_call: string }[] = [];
      let ok = true;
      for (let i = 0; i < it.solution.length && ok; i++) {
        const res = await post(base, '/predict', { prompt: it.query, history, max_predictions: 1, spec_id: specId });
        const top: string | undefined = res.predictions[0]?.api_call;
        ok = top === it.solution[i];
        if (top) history.push({ api_call: top });
      }
      if (ok) fullPaths++;
    }
    const r = (x: number, n: number) => (n ? Math.round((x / n) * 10_000) / 10_000 : 0);
    return {
      items: gold.length,
      steps,
      top1: r(top1, steps),
      top3: r(top3, steps),
      mrr: r(rr, steps),
      full_path_rate: r(fullPaths, gold.length),
      first_step: { steps: first.steps, top1: r(first.top1, first.steps), top3: r(first.top3, first.steps) },
      later_steps: { steps: later.steps, top1: r(later.top1, later.steps), top3: r(later.top3, later.steps) },
      repaired_calls: repaired,
      model_version: modelVersion,
      spec_id: specId,
    };
  } finally {
    if (server) await server.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const a = args(process.argv.slice(2));
  runEval(a).then(
    (rep) => {
      if (a.json) process.stdout.write(`${JSON.stringify(rep, null, 2)}\n`);
      else {
        process.stdout.write(
          [
            `| metric | value |`,
            `|---|---|`,
            `| steps | ${rep.steps} |`,
            `| next-call top-1 | ${rep.top1} |`,
            `| next-call top-3 | ${rep.top3} |`,
            `| MRR@${DEPTH} | ${rep.mrr} |`,
            `| greedy full-path rate | ${rep.full_path_rate} |`,
            `| first step top-1 / top-3 | ${rep.first_step.top1} / ${rep.first_step.top3} |`,
            `| later steps top-1 / top-3 | ${rep.later_steps.top1} / ${rep.later_steps.top3} |`,
            `| model | ${rep.model_version} |`,
          ].join('\n') + '\n',
        );
      }
    },
    (err) => {
      process.stderr.write(`eval failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
