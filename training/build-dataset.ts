/**
 * Workflows -> learning-to-rank rows, through the server's own pipeline: the same
 * history resolution, signals, candidate generator (k + buffer and beyond) and feature
 * code that /predict runs. One query group per workflow step; the gold next call is
 * labelled 1, every other candidate 0. Groups whose gold call the candidate generator
 * missed carry no gradient and are skipped (and counted as recall misses).
 */
import { computeFeatures, FEATURE_NAMES, NUM_FEATURES, type TransitionLookup } from '../engine/features';
import type { PreparedCatalog } from '../engine/prepared-catalog';
import { buildSignals, generateCandidates, goalText, resolveHistory, type HistoryInput } from '../engine/predictor';
import type { TextEncoder } from '../engine/embedder';
import { countIdValues } from '../engine/entities';
import type { RankingDataset } from './lambdamart';
import type { Workflow } from './workflow-generator';
import { mulberry32 } from '../engine/prng';
import type { SynonymSource } from './synonyms';

export interface DatasetOptions {
  /** Same limit as the server's (pool candidateLimit). */
  candidateLimit: number;
  /** Share of steps whose prompt is the workflow's goal rather than the step's own. */
  goalPromptShare: number;
  /** Share of histories given as templates ("GET /users/{id}") instead of concrete paths. */
  templateHistoryShare: number;
  /** Share of steps whose last call's produced ids are hidden from the resource graph (see PredictInput.untypedLastIds). */
  untypedIdShare: number;
  /**
   * Share of workflows that see transition counts (as a server with /feedback data
   * would); the rest see none, like a fresh spec. Counts come from the other workflows
   * of the same spec (leave-one-out), so a workflow never sees its own transitions.
   */
  transitionShare: number;
  seed: number;
  /** Share of workflows whose prompts are paraphrased with word-vector neighbours (see synonyms.ts). */
  paraphraseShare: number;
  /** Source of paraphrases; required when paraphraseShare > 0. */
  synonyms?: SynonymSource;
  onProgress?: (done: number, total: number) => void;
}

export interface DatasetReport {
  groups: number;
  rows: number;
  /** Steps whose gold endpoint was among the generated candidates. */
  candidateRecall: number;
  skippedGroups: number;
}

export async function buildDataset(
  workflows: readonly Workflow[],
  catalogs: ReadonlyMap<string, PreparedCatalog>,
  encoder: TextEncoder | undefined,
  opts: DatasetOptions,
): Promise<{ data: RankingDataset; report: DatasetReport }> {
  const rand = mulberry32(opts.seed);
  const feats: Float32Array[] = [];
  const labels: number[] = [];
  const groups: number[] = [];
  let steps = 0;
  let hits = 0;
  const embedCache = new Map<string, Float32Array>();
  const counts = countTransitions(workflows);
  for (let w = 0; w < workflows.length; w++) {
    const wf = workflows[w]!;
    const pc = catalogs.get(wf.specId);
    if (!pc) continue;
    const transitions = rand() < opts.transitionShare ? leaveOneOut(counts.get(wf.specId)!, wf.steps.map((s) => s.endpoint)) : undefined;
    const byId = new Map(pc.catalog.endpoints.map((e) => [e.id, e.index]));
    const useTemplates = rand() < opts.templateHistoryShare;
    const paraphrase = opts.synonyms && rand() < opts.paraphraseShare ? opts.synonyms : undefined;
    const goal = paraphrase ? paraphrase.paraphrase(wf.goal, rand) : wf.goal;
    const history: HistoryInput[] = [];
    let t = 1_700_000_000_000 + Math.floor(rand() * 1e9);
    for (let i = 0; i < wf.steps.length; i++) {
      const step = wf.steps[i]!;
      const gold = byId.get(step.endpoint);
      if (gold === undefined) break;
      const prompt = rand() < opts.goalPromptShare ? goal : paraphrase ? paraphrase.paraphrase(step.prompt, rand) : step.prompt;
      const now = t + Math.floor(rand() * 120_000);
      let emb = embedCache.get(prompt);
      if (!emb && encoder) {
        emb = await encoder.embed([goalText(prompt)]);
        if (embedCache.size > 50_000) embedCache.clear();
        embedCache.set(prompt, emb);
      }
      const { resolved } = resolveHistory(pc, history);
      const input = { prompt, history, now, promptEmbedding: emb, transitions, candidateLimit: opts.candidateLimit, untypedLastIds: i > 0 && rand() < opts.untypedIdShare };
      const sig = buildSignals(pc, input, resolved);
      const cands = generateCandidates(pc, sig, opts.candidateLimit);
      steps++;
      // A first call that needs ids nobody has given is not a workflow a user can start
      // (specs where everything sits under /{account}/... produce these): learn from the
      // later steps only, unless the prompt itself carries an id.
      const unstartable = i === 0 && pc.graph.facts[gold]!.pathParams.length > 0 && countIdValues(prompt) === 0;
      if (unstartable) {
        hits++;
      } else if (cands.includes(gold)) {
        hits++;
        const out = new Float32Array(cands.length * NUM_FEATURES);
        computeFeatures(pc, sig, cands, out);
        feats.push(out);
        for (const c of cands) labels.push(c === gold ? 1 : 0);
        groups.push(cands.length);
      }
      const [method] = step.endpoint.split(' ');
      history.push({ api_call: useTemplates ? step.endpoint : `${method} ${step.path}`, timestamp: new Date(now).toISOString() });
      t = now;
    }
    if (opts.onProgress && (w % 200 === 0 || w === workflows.length - 1)) opts.onProgress(w + 1, workflows.length);
  }
  const rows = labels.length;
  const features = new Float32Array(rows * NUM_FEATURES);
  let o = 0;
  for (const f of feats) {
    features.set(f, o);
    o += f.length;
  }
  return {
    data: { features, labels: Float32Array.from(labels), groups: Uint32Array.from(groups), featureNames: [...FEATURE_NAMES] },
    report: { groups: groups.length, rows, candidateRecall: steps ? hits / steps : 0, skippedGroups: steps - hits },
  };
}

/** Bigram/trigram counts of every spec's workflows, as the feature store would hold them. */
type Counts = Map<string, number>;
function countTransitions(workflows: readonly Workflow[]): Map<string, Counts> {
  const bySpec = new Map<string, Counts>();
  for (const wf of workflows) {
    let c = bySpec.get(wf.specId);
    if (!c) bySpec.set(wf.specId, (c = new Map()));
    addSequence(c, wf.steps.map((s) => s.endpoint), 1);
  }
  return bySpec;
}

function addSequence(c: Counts, ids: readonly string[], sign: number): void {
  const bump = (k: string) => c.set(k, (c.get(k) ?? 0) + sign);
  for (let i = 1; i < ids.length; i++) {
    bump(`b\u0000${ids[i - 1]}`);
    bump(`b\u0000${ids[i - 1]}\u0000${ids[i]}`);
    if (i >= 2) {
      bump(`t\u0000${ids[i - 2]}\u0000${ids[i - 1]}`);
      bump(`t\u0000${ids[i - 2]}\u0000${ids[i - 1]}\u0000${ids[i]}`);
    }
  }
}

/** The spec's counts minus this workflow's own transitions. */
function leaveOneOut(all: Counts, own: readonly string[]): TransitionLookup {
  const mine: Counts = new Map();
  addSequence(mine, own, 1);
  const get = (k: string) => (all.get(k) ?? 0) - (mine.get(k) ?? 0);
  return {
    bigram: (prev, next) => get(`b\u0000${prev}\u0000${next}`),
    bigramTotal: (prev) => get(`b\u0000${prev}`),
    trigram: (p2, p1, next) => get(`t\u0000${p2}\u0000${p1}\u0000${next}`),
    trigramTotal: (p2, p1) => get(`t\u0000${p2}\u0000${p1}`),
  };
}

