/**
 * Ranking features: one row of numbers per (request, candidate endpoint). The same code
 * runs in the server's workers and in training/, so the ranker sees at serving time
 * exactly what it was trained on. NaN means "not applicable / unknown"; the tree
 * evaluator routes NaN by each split's learned default direction.
 *
 * Nothing here knows any particular API: every signal is computed from the catalog's own
 * text and structure (resource graph, response fields) and from the request.
 */
import type { KnownFlags, ResourceGraph } from './resource-graph';
import type { PreparedCatalog } from './prepared-catalog';
import { ACTION_CLASSES, type ActionClass } from './verbs';

/** Feature order is part of the model file format: append, never reorder. */
export const FEATURE_NAMES = [
  // The seed's eleven.
  'time_since_last',
  'session_length',
  'last_endpoint_type',
  'last_resource',
  'endpoint_type',
  'resource_match',
  'action_verb_match',
  'workflow_distance',
  'prompt_similarity',
  'bigram_prob',
  'trigram_prob',
  // Ours.
  'lexical_score',
  'param_chain',
  'unsatisfied_params',
  'method_prior',
  'history_position',
  'downstream_similarity',
  'downstream_lexical',
  'similarity_rank',
  'lexical_rank',
  'similarity_gap',
  'resource_in_prompt',
  'path_depth',
  'catalog_size',
  'produces_unknown',
  'prompt_entities',
  'generic_id_chain',
  'history_similarity',
  'similarity_over_history',
  'qualifier_in_prompt',
  'entity_resource',
  'ready_similarity_rank',
  'ready_lexical_rank',
  'prompt_ids',
  'centered_similarity',
  'ready_centered_rank',
  'downstream_centered',
  'ready_centered_gap',
  'plain_item_read',
  'plan_support',
  'plan_support_lexical',
  'response_similarity',
  'ready_response_rank',
  'prompt_person_names',
  'candidate_personish',
  'who_question',
  'returns_people',
  'people_lists',
  'field_hit',
  'person_lookup',
  'entity_lookup',
  'count_field',
] as const;
export const NUM_FEATURES = FEATURE_NAMES.length;

export const KIND_CODES: Record<string, number> = {
  list: 0, search: 1, read: 2, create: 3, update: 4, delete: 5, action: 6, auth: 7, other: 8,
};
const METHOD_CODES: Record<string, number> = { GET: 0, POST: 1, PUT: 2, PATCH: 3, DELETE: 4 };
const MAX_DISTANCE = 7;
/** Rank features stop counting here: every rank past it is RANK_CAP. */
export const RANK_CAP = 63;

/** Transition counts from the feature store (observed sequences), when there are any. */
export interface TransitionLookup {
  bigram(prev: string, next: string): number;
  bigramTotal(prev: string): number;
  trigram(prev2: string, prev1: string, next: string): number;
  trigramTotal(prev2: string, prev1: string): number;
}

/** Everything about one request that features need, computed once per request. */
export interface RequestSignals {
  promptTerms: ReadonlySet<string>;
  /** Action class of the prompt's first action verb (create, delete, ...). */
  action: ActionClass | undefined;
  /** Endpoint indexes of the resolved history, oldest first (unmatched entries dropped). */
  history: number[];
  /** Milliseconds of the last call, when the client sent timestamps. */
  lastTimestamp: number | undefined;
  now: number;
  /**
   * Resources whose ids the workflow already holds (from values or from producers
   * called), as flags by resource id (graph.knownFlags).
   */
  knownFlags: KnownFlags;
  /** Prompt similarity (cosine) and normalised BM25 of every endpoint. */
  similarity: Float32Array;
  /** Similarity after removing the catalog's common component (see PreparedCatalog.centered). */
  centered: Float32Array;
  /**
   * Similarity of the prompt to what each of `candidates` returns (one value per
   * candidate); NaN without response fields.
   */
  responseOf(candidates: readonly number[]): Float32Array;
  lexical: Float32Array;
  /** Rank of each endpoint by similarity / lexical score (0 = best), capped at RANK_CAP. */
  similarityRank: Uint8Array;
  lexicalRank: Uint8Array;
  maxSimilarity: number;
  transitions: TransitionLookup | undefined;
  /** Quoted spans and capitalised names in the prompt: things a workflow must look up first. */
  entities: number;
  /** Whether the last call's response carries ids of items (any "id" field). */
  lastReturnsIds: boolean;
  /** Best prompt similarity among the endpoints already called (NaN without history). */
  historySimilarity: number;
  /** Stemmed words just before the prompt's named things ("the movie <Name>" -> "movie"). */
  entityContext: ReadonlySet<string>;
  /** Id-like values in the prompt ("order 8841", a UUID). */
  idValues: number;
  /** People named in the prompt ("Sofia Coppola"): see person-names.ts. */
  personNames: number;
  /** The prompt asks who (who / whom / whose): the answer is people. */
  who: boolean;
  /** The prompt asks how many (how many / number of / count of). */
  countQuestion: boolean;
}

/**
 * Fill `out` (rows x NUM_FEATURES, row-major) with the features of each candidate.
 * `out` is caller-owned so workers can reuse one scratch buffer.
 */
export function computeFeatures(pc: PreparedCatalog, sig: RequestSignals, candidates: readonly number[], out: Float32Array): void {
  const g = pc.graph;
  const hist = sig.history;
  const last = hist.length ? hist[hist.length - 1]! : -1;
  const prev2 = hist.length > 1 ? hist[hist.length - 2]! : -1;
  const lastFacts = last >= 0 ? g.facts[last]! : undefined;
  const action = sig.action;
  const eps = pc.catalog.endpoints;
  const logSize = Math.log2(eps.length + 1);
  const response = sig.responseOf(candidates);
  const { simRank, lexRank, centRank, respRank } = readyRanks(pc, sig, candidates, response);
  // Flags, not a Set: planSupport asks for every endpoint.
  const called = new Uint8Array(eps.length);
  for (const h of hist) called[h] = 1;
  const planCentered = planSupport(pc, sig, sig.centered, called);
  const planLexical = planSupport(pc, sig, sig.lexical, called);
  let bestReadyCentered = -Infinity;
  candidates.forEach((c, r) => {
    if (!Number.isNaN(centRank[r]!) && sig.centered[c]! > bestReadyCentered) bestReadyCentered = sig.centered[c]!;
  });
  for (let r = 0; r < candidates.length; r++) {
    const c = candidates[r]!;
    const f = g.facts[c]!;
    const o = r * NUM_FEATURES;
    out[o + 0] = last >= 0 && sig.lastTimestamp !== undefined ? Math.max(0, (sig.now - sig.lastTimestamp) / 1000) : NaN;
    out[o + 1] = hist.length;
    out[o + 2] = lastFacts ? KIND_CODES[lastFacts.kind]! : NaN;
    out[o + 3] = lastFacts ? pathOverlap(pc, last, c) : NaN;
    out[o + 4] = KIND_CODES[f.kind]!;
    out[o + 5] = lastFacts ? resourceMatch(lastFacts, f) : NaN;
    out[o + 6] = action === undefined ? NaN : ACTION_CLASSES[action]!.has(f.kind) ? 1 : 0;
    out[o + 7] = last >= 0 ? Math.min(g.distance(last, c), MAX_DISTANCE) : NaN;
    out[o + 8] = sig.similarity[c]!;
    out[o + 9] = transitionProb(sig.transitions, last >= 0 ? eps[last]!.id : undefined, undefined, eps[c]!.id);
    out[o + 10] = transitionProb(sig.transitions, last >= 0 ? eps[last]!.id : undefined, prev2 >= 0 ? eps[prev2]!.id : undefined, eps[c]!.id);
    out[o + 11] = sig.lexical[c]!;
    const unknownParams = unsatisfied(g.paramIds[c]!, sig.knownFlags);
    out[o + 12] = g.satisfiableFlags(c, sig.knownFlags);
    out[o + 13] = unknownParams;
    out[o + 14] = METHOD_CODES[eps[c]!.method] ?? 5;
    out[o + 15] = historyPosition(hist, c);
    const down = downstream(g, c, sig);
    out[o + 16] = down.sim;
    out[o + 17] = down.lex;
    out[o + 18] = sig.similarityRank[c]!;
    out[o + 19] = sig.lexicalRank[c]!;
    out[o + 20] = sig.maxSimilarity - sig.similarity[c]!;
    out[o + 21] = coverage(pc.resourceTerms[c]!, sig.promptTerms);
    out[o + 22] = f.depth;
    out[o + 23] = logSize;
    out[o + 24] = down.unknown;
    out[o + 25] = sig.entities;
    // One untyped id from the last response can fill one path parameter the workflow lacks.
    out[o + 26] = last >= 0 && sig.lastReturnsIds && f.pathParams.length > 0 ? Math.max(0, 1 - unknownParams) : 0;
    out[o + 27] = sig.historySimilarity;
    out[o + 28] = Number.isNaN(sig.historySimilarity) ? NaN : sig.similarity[c]! - sig.historySimilarity;
    out[o + 29] = f.qualifier ? coverage(pc.qualifierTerms[c]!, sig.promptTerms) : NaN;
    out[o + 30] = sig.entityContext.size ? coverage(pc.resourceTerms[c]!, sig.entityContext) : NaN;
    out[o + 31] = simRank[r]!;
    out[o + 32] = lexRank[r]!;
    out[o + 33] = sig.idValues;
    out[o + 34] = sig.centered[c]!;
    out[o + 35] = centRank[r]!;
    out[o + 36] = down.centered;
    out[o + 37] = Number.isNaN(centRank[r]!) ? NaN : bestReadyCentered - sig.centered[c]!;
    out[o + 38] = f.kind === 'read' && f.pathParams.length > 0 && pc.catalog.endpoints[c]!.path.endsWith('}') ? 1 : 0;
    out[o + 39] = planCentered.get(c) ?? 0;
    out[o + 40] = planLexical.get(c) ?? 0;
    out[o + 41] = response[r]!;
    out[o + 42] = respRank[r]!;
    out[o + 43] = sig.personNames;
    out[o + 44] = f.personish ? 1 : 0;
    out[o + 45] = sig.who ? 1 : 0;
    out[o + 46] = f.returnsPeople ? 1 : 0;
    out[o + 47] = f.peopleLists;
    out[o + 48] = fieldHits(pc.fieldTerms[c]!, sig.promptTerms);
    // The prompt names a person, no person is known yet, and this call looks people up.
    // (A search finds a named person; a plain listing only lets one scan for them.)
    const lookup = f.kind === 'search' ? 1 : f.kind === 'list' && !f.qualifier ? 0.5 : 0;
    const unknown = !sig.knownFlags.exact[g.mainIds[c]!];
    out[o + 49] = sig.personNames > 0 && f.personish && unknown ? lookup : 0;
    // The prompt names something (a title, a quoted name) and this call can look it up.
    out[o + 50] = sig.entities > 0 && unknown ? lookup : 0;
    // "How many episodes does it have?" is answered by a record with a count of episodes.
    out[o + 51] = sig.countQuestion ? fieldHits(pc.countTerms[c]!, sig.promptTerms) : 0;
  }
}

const PLAN_TARGETS = 3;
const PLAN_WEIGHTS = [1, 0.6, 0.4];

/**
 * Goal-directed support: the endpoints that best match the prompt are the likely goals;
 * the next call is the goal itself when it can be called now, else a call that produces
 * the id the goal is missing (or the goal itself when the last response carries ids the
 * graph could not type). Each candidate gets the summed weight of the goals it serves.
 *
 *   prompt ~ "credits of <movie>"  ->  goal GET /movie/{id}/credits (movie id missing)
 *                                   ->  support for producers of movie ids (search, lists)
 * `called` flags the endpoints already in the history.
 */
function planSupport(pc: PreparedCatalog, sig: RequestSignals, score: Float32Array, called: Uint8Array): Map<number, number> {
  const g = pc.graph;
  // The PLAN_TARGETS best-scoring endpoints not yet called, best first (ties: lower index),
  // by one pass instead of sorting the whole catalog.
  const goals: number[] = [];
  for (let i = 0; i < score.length; i++) {
    if (called[i]) continue;
    const v = score[i]!;
    let at = goals.length;
    while (at > 0 && v > score[goals[at - 1]!]!) at--;
    if (at < PLAN_TARGETS) {
      goals.splice(at, 0, i);
      if (goals.length > PLAN_TARGETS) goals.pop();
    }
  }
  const out = new Map<number, number>();
  const add = (i: number, w: number) => out.set(i, (out.get(i) ?? 0) + w);
  goals.forEach((t, k) => {
    const w = PLAN_WEIGHTS[k]!;
    const missing = g.facts[t]!.paramResources.filter((_, j) => !sig.knownFlags.exact[g.paramIds[t]![j]!]);
    if (missing.length === 0) {
      add(t, w);
      return;
    }
    if (missing.length === 1 && sig.lastReturnsIds) add(t, w * 0.5);
    for (const p of g.producersOf(missing[0]!)) {
      if (p !== t && unsatisfied(g.paramIds[p]!, sig.knownFlags) === 0) add(p, w);
    }
  });
  return out;
}

/**
 * Rank of each candidate's similarity and lexical score among the candidates that can be
 * called now (every path parameter's resource is held); NaN for the others. Absolute
 * similarities vary from API to API; "best among what is callable" transfers.
 */
function readyRanks(pc: PreparedCatalog, sig: RequestSignals, candidates: readonly number[], response: Float32Array): Record<'simRank' | 'lexRank' | 'centRank' | 'respRank', Float32Array> {
  // One allocation for the four (typed-array allocation costs more than filling them).
  const m = candidates.length;
  const all = new Float32Array(4 * m).fill(NaN);
  const [simRank, lexRank, centRank, respRank] = [0, 1, 2, 3].map((k) => all.subarray(k * m, (k + 1) * m)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const ready: number[] = [];
  candidates.forEach((c, r) => {
    if (unsatisfied(pc.graph.paramIds[c]!, sig.knownFlags) === 0) ready.push(r);
  });
  const bySim = [...ready].sort((a, b) => sig.similarity[candidates[b]!]! - sig.similarity[candidates[a]!]!);
  const byLex = [...ready].sort((a, b) => sig.lexical[candidates[b]!]! - sig.lexical[candidates[a]!]!);
  const byCent = [...ready].sort((a, b) => sig.centered[candidates[b]!]! - sig.centered[candidates[a]!]!);
  bySim.forEach((r, i) => (simRank[r] = Math.min(i, RANK_CAP)));
  byLex.forEach((r, i) => (lexRank[r] = Math.min(i, RANK_CAP)));
  byCent.forEach((r, i) => (centRank[r] = Math.min(i, RANK_CAP)));
  const byResp = ready.filter((r) => !Number.isNaN(response[r]!)).sort((a, b) => response[b]! - response[a]!);
  byResp.forEach((r, i) => (respRank[r] = Math.min(i, RANK_CAP)));
  return { simRank, lexRank, centRank, respRank };
}

function pathOverlap(pc: PreparedCatalog, a: number, b: number): number {
  const ta = pc.pathTerms[a]!;
  const tb = pc.pathTerms[b]!;
  if (ta.length === 0 || tb.length === 0) return 0;
  let inter = 0;
  for (const t of ta) if (tb.includes(t)) inter++;
  return inter / (ta.length + tb.length - inter);
}

/** 2: candidate takes the last call's resource as a path parameter (drills into it); 1: same resource; 0: unrelated. */
function resourceMatch(last: ResourceGraph['facts'][number], cand: ResourceGraph['facts'][number]): number {
  if (cand.paramResources.includes(last.resource) && cand.resource !== last.resource) return 2;
  if (cand.resource === last.resource) return 1;
  if (last.producesIds.some((r) => cand.paramResources.includes(r))) return 2;
  return 0;
}

function transitionProb(t: TransitionLookup | undefined, prev: string | undefined, prev2: string | undefined, next: string): number {
  if (!t || prev === undefined) return NaN;
  if (prev2 === undefined) {
    const total = t.bigramTotal(prev);
    return total > 0 ? t.bigram(prev, next) / total : NaN;
  }
  const total = t.trigramTotal(prev2, prev);
  return total > 0 ? t.trigram(prev2, prev, next) / total : NaN;
}

/** Path parameters whose resource itself is not known (by resource id). */
function unsatisfied(paramIds: Int32Array, known: KnownFlags): number {
  let n = 0;
  for (let j = 0; j < paramIds.length; j++) if (!known.exact[paramIds[j]!]) n++;
  return n;
}

/** Prompt words that name one of the endpoint's response attributes (at most 3). */
function fieldHits(fields: ReadonlySet<string>, prompt: ReadonlySet<string>): number {
  let n = 0;
  for (const t of prompt) if (fields.has(t) && ++n === 3) break;
  return n;
}

function historyPosition(hist: readonly number[], c: number): number {
  for (let i = hist.length - 1; i >= 0; i--) if (hist[i] === c) return hist.length - i;
  return 0;
}

function coverage(tokens: readonly string[], prompt: ReadonlySet<string>): number {
  if (tokens.length === 0) return 0;
  let hit = 0;
  for (const t of tokens) if (prompt.has(t)) hit++;
  return hit / tokens.length;
}

/**
 * How well the endpoints this candidate unlocks match the prompt: the best similarity
 * (and lexical score) among endpoints that need an id the candidate produces and the
 * workflow does not hold yet. High for "search person" when the prompt asks for a
 * person's details — the first step of a goal the prompt describes.
 */
function downstream(g: ResourceGraph, c: number, sig: RequestSignals): { sim: number; lex: number; centered: number; unknown: number } {
  let sim = 0;
  let lex = 0;
  let centered = -1;
  let unknown = 0;
  const produced = g.producedIds[c]!;
  const names = g.facts[c]!.producesIds;
  for (let j = 0; j < produced.length; j++) {
    if (sig.knownFlags.exact[produced[j]!]) continue;
    unknown++;
    for (const d of g.consumersOf(names[j]!)) {
      if (d === c) continue;
      if (sig.similarity[d]! > sim) sim = sig.similarity[d]!;
      if (sig.lexical[d]! > lex) lex = sig.lexical[d]!;
      if (sig.centered[d]! > centered) centered = sig.centered[d]!;
    }
  }
  return { sim, lex, centered: unknown ? centered : NaN, unknown };
}
