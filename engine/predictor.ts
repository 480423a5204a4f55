/**
 * The CPU pipeline of one prediction, shared by the server's workers and by training:
 *
 *   history -> resolve (trie) -> signals (BM25, embedding similarity, known resources)
 *     -> candidates (top by a cheap prior) -> features -> scorer (WASM trees) -> ranked
 *
 * I/O-free: the prompt embedding, transition counts and the scorer are passed in.
 */
import { computeFeatures, NUM_FEATURES, RANK_CAP, type RequestSignals, type TransitionLookup } from './features';
import { lexicalScores } from './lexical';
import { dotRows } from './row-dots';
import type { PreparedCatalog } from './prepared-catalog';
import { stem, terms, tokenize } from './tokenizer';
import type { ResolvedCall } from './types';
import { promptActionClass } from './verbs';
import { countEntities, countIdValues, entityNeighbours, goalText } from './entities';
import { countPersonNames } from './person-names';

export { goalText };

/**
 * Candidates the ranker scores per request (the seed's k + buffer is the floor). At 64, a
 * typical API is ranked whole; larger catalogs are cut down by the cheap prior first.
 */
export const DEFAULT_CANDIDATE_LIMIT = 64;

export interface HistoryInput {
  api_call: string;
  method?: string;
  timestamp?: string | number;
  params?: Record<string, unknown>;
}

export interface PredictInput {
  prompt: string;
  history: readonly HistoryInput[];
  /** Wall clock for time_since_last, ms since epoch. */
  now: number;
  /** L2-normalised embedding of goalText(prompt) (same encoder as the catalog's), if any. */
  promptEmbedding?: Float32Array;
  transitions?: TransitionLookup;
  /** How many candidates to rank (>= k + buffer). */
  candidateLimit: number;
  /**
   * Training augmentation only: treat the last call's produced ids as untyped, as happens
   * online whenever the resource graph cannot tell what a response's "id" fields are
   * (a list of "cast" whose ids are people's). Never set by the server.
   */
  untypedLastIds?: boolean;
}

/** Scores rows x stride features; the WASM evaluator or the TS reference. */
export type Scorer = (features: Float32Array, rows: number, stride: number) => Float32Array;

export interface RankedCandidate {
  endpoint: number;
  score: number;
  similarity: number;
  /** Path parameter values known from the history. */
  params: Record<string, string>;
}

export interface PredictOutput {
  ranked: RankedCandidate[];
  resolved: ResolvedCall[];
  /** Raw api_call strings that matched no endpoint. */
  unmatched: string[];
  candidatesGenerated: number;
  /** Row-major candidates x NUM_FEATURES, in the order of `candidates`. */
  features: Float32Array;
  candidates: number[];
}

export function resolveHistory(pc: PreparedCatalog, history: readonly HistoryInput[]): { resolved: ResolvedCall[]; unmatched: string[] } {
  const resolved: ResolvedCall[] = [];
  const unmatched: string[] = [];
  for (const h of history) {
    const m = pc.router.resolve(h.api_call, h.method);
    const ts = parseTimestamp(h.timestamp);
    const params: Record<string, string> = {};
    if (m) Object.assign(params, m.params);
    if (h.params && typeof h.params === 'object') {
      for (const [k, v] of Object.entries(h.params)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params[k] ??= String(v);
      }
    }
    resolved.push({ raw: h.api_call, endpoint: m ? m.endpoint : -1, params, timestamp: ts });
    if (!m) unmatched.push(h.api_call);
  }
  return { resolved, unmatched };
}

function parseTimestamp(t: string | number | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'number' ? (t < 1e12 ? t * 1000 : t) : Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

export function buildSignals(pc: PreparedCatalog, input: PredictInput, resolved: readonly ResolvedCall[]): RequestSignals {
  const n = pc.catalog.endpoints.length;
  // Similarity is computed on what the user wants done, without the names in the prompt.
  // The per-endpoint arrays share one allocation: typed-array allocation costs more than
  // filling a few hundred entries.
  const perEndpoint = new Float32Array(3 * n);
  const lexical = lexicalScores(pc.lexical, goalText(input.prompt), perEndpoint.subarray(0, n));
  let maxLex = 0;
  for (let i = 0; i < n; i++) if (lexical[i]! > maxLex) maxLex = lexical[i]!;
  if (maxLex > 0) for (let i = 0; i < n; i++) lexical[i] = lexical[i]! / maxLex;
  else lexical.fill(0);
  const similarity = perEndpoint.subarray(n, 2 * n);
  if (input.promptEmbedding && pc.embeddingDots && input.promptEmbedding.length === pc.dim) {
    pc.embeddingDots.dot(input.promptEmbedding, 1, similarity);
  } else {
    similarity.set(lexical); // lexical stand-in when no encoder is configured
  }
  const centered = perEndpoint.subarray(2 * n);
  if (input.promptEmbedding && pc.centeredDots && pc.mean && input.promptEmbedding.length === pc.dim) {
    const d = pc.dim;
    const q = new Float32Array(d);
    let norm = 0;
    for (let j = 0; j < d; j++) {
      q[j] = input.promptEmbedding[j]! - pc.mean[j]!;
      norm += q[j]! * q[j]!;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    pc.centeredDots.dot(q, inv, centered);
  } else {
    centered.set(lexical);
  }
  // Only the ranked candidates' response similarities are ever read: computed for those alone.
  const responseOf = (candidates: readonly number[]): Float32Array => {
    const out = new Float32Array(candidates.length).fill(NaN);
    if (input.promptEmbedding && pc.responseEmbeddings && input.promptEmbedding.length === pc.dim) {
      dotRows(input.promptEmbedding, pc.responseEmbeddings, candidates, candidates.length, pc.dim, 1, out);
      // Endpoints that return no fields have no response similarity.
      candidates.forEach((c, r) => {
        if (pc.catalog.endpoints[c]!.responseFields.length === 0) out[r] = NaN;
      });
    }
    return out;
  };
  let maxSimilarity = -Infinity;
  for (let i = 0; i < n; i++) if (similarity[i]! > maxSimilarity) maxSimilarity = similarity[i]!;
  const history: number[] = [];
  const known = new Set<string>();
  let lastTimestamp: number | undefined;
  const lastIdx = resolved.reduce((acc, r, i) => (r.endpoint >= 0 ? i : acc), -1);
  for (const [i, r] of resolved.entries()) {
    if (r.endpoint < 0) continue;
    history.push(r.endpoint);
    const f = pc.graph.facts[r.endpoint]!;
    if (!(input.untypedLastIds && i === lastIdx)) for (const res of f.producesIds) known.add(res);
    // Resources named in the path are known only when the call carried real values.
    f.pathParams.forEach((p, i) => {
      const v = r.params[p];
      if (v !== undefined && !/^\{.*\}$/.test(v)) known.add(f.paramResources[i]!);
    });
    if (r.timestamp !== undefined) lastTimestamp = r.timestamp;
  }
  const ranks = new Uint8Array(2 * n);
  let historySimilarity = NaN;
  for (const h of history) historySimilarity = Number.isNaN(historySimilarity) ? similarity[h]! : Math.max(historySimilarity, similarity[h]!);
  return {
    promptTerms: new Set(terms(input.prompt)),
    entities: countEntities(input.prompt),
    idValues: countIdValues(input.prompt),
    personNames: countPersonNames(input.prompt),
    who: /\bwho(m|se)?\b/i.test(input.prompt),
    countQuestion: COUNT_QUESTION.test(input.prompt),
    entityContext: new Set(entityNeighbours(input.prompt).map(stem)),
    lastReturnsIds: history.length > 0 && pc.returnsIds[history[history.length - 1]!]!,
    historySimilarity,
    action: promptActionClass(tokenize(input.prompt)),
    history,
    lastTimestamp: history.length ? lastTimestamp : undefined,
    now: input.now,
    knownFlags: pc.graph.knownFlags(known),
    similarity,
    centered,
    responseOf,
    lexical,
    similarityRank: cappedRanks(similarity, ranks.subarray(0, n)),
    lexicalRank: cappedRanks(lexical, ranks.subarray(n)),
    maxSimilarity: n ? maxSimilarity : 0,
    transitions: input.transitions,
  };
}

/** "how many seats ...", "the number of episodes", "count of open tickets". */
const COUNT_QUESTION = /\b(how many|number of|count of)\b/i;

/** Rank of each entry by compareScoreDesc, capped at RANK_CAP, into `out`: only the best RANK_CAP are ordered. */
function cappedRanks(scores: Float32Array, out: Uint8Array): Uint8Array {
  out.fill(RANK_CAP);
  const top = topByScoreDesc(scores, RANK_CAP);
  for (let r = 0; r < top.length; r++) out[top[r]!] = r;
  return out;
}

/** The comparator order the engine ranks by: higher score first, then lower index. */
export function compareScoreDesc(scores: ArrayLike<number>): (a: number, b: number) => number {
  return (a, b) => scores[b]! - scores[a]! || a - b;
}

/** Up to 2^21 indexes fit beside a 32-bit key in a double's 53-bit mantissa. */
const INDEX_BITS = 2 ** 21;

/**
 * Entry `i` of a Float32Array as one exactly representable double whose ascending
 * numeric order is compareScoreDesc's order: (descending order key of the f32 bits `b`)
 * x 2^21 + index. The order key is the bits made monotonic (sign flips the rest); -0 is
 * taken as +0 (they compare equal, so the index decides, as with the comparator). Not for
 * NaN (see isNaNBits), where the comparator is not a consistent order.
 */
function orderKey(b: number, i: number): number {
  if (b === 0x80000000) b = 0;
  // Ascending key: negative floats have their bits inverted, positive ones the sign set.
  const asc = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  return (0xffffffff - asc) * INDEX_BITS + i;
}

/** The index part of an orderKey (the same as key % INDEX_BITS, without a floating-point remainder call). */
function keyIndex(key: number): number {
  return key - Math.floor(key / INDEX_BITS) * INDEX_BITS;
}

function isNaNBits(b: number): boolean {
  return (b & 0x7fffffff) > 0x7f800000;
}

/**
 * Indexes of `scores` sorted by compareScoreDesc, without a comparator callback: a plain
 * numeric typed-array sort of the entries' orderKeys. NaN or huge arrays fall back to
 * the comparator sort itself.
 */
export function orderByScoreDesc(scores: Float32Array): Uint32Array {
  const n = scores.length;
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  const keys = new Float64Array(n);
  let exact = n <= INDEX_BITS;
  for (let i = 0; exact && i < n; i++) {
    if (isNaNBits(bits[i]!)) exact = false;
    else keys[i] = orderKey(bits[i]!, i);
  }
  const out = new Uint32Array(n);
  if (!exact) {
    const order = Array.from({ length: n }, (_, i) => i).sort(compareScoreDesc(scores));
    for (let i = 0; i < n; i++) out[i] = order[i]!;
    return out;
  }
  keys.sort();
  for (let i = 0; i < n; i++) out[i] = keyIndex(keys[i]!);
  return out;
}

/** topByScoreDesc's heap; reused because every request asks three times (allocation is most of a small call). */
let heapScratch = new Float64Array(65);

/**
 * The first min(k, n) entries of orderByScoreDesc(scores), without ordering the rest: a
 * max-heap holds the k smallest orderKeys so far, so most entries lose one comparison
 * with its top (the k-th best) and the others cost a log(k) sift instead of shifting an
 * ordered list. Keys are distinct, so ties need no care; only the k kept are sorted.
 * Falls back to the full order on NaN.
 */
export function topByScoreDesc(scores: Float32Array, k: number): number[] {
  const n = scores.length;
  if (k <= 0) return [];
  if (k >= n || n > INDEX_BITS) return Array.from(orderByScoreDesc(scores).subarray(0, k));
  if (heapScratch.length < k + 1) heapScratch = new Float64Array(k + 1);
  const heap = heapScratch;
  heap[k] = -Infinity; // the missing right child of the last parent, never chosen
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    if (isNaNBits(b)) return Array.from(orderByScoreDesc(scores).subarray(0, k));
    const key = orderKey(b, i);
    if (i < k) {
      heap[i] = key;
      if (i === k - 1) for (let at = (k >> 1) - 1; at >= 0; at--) siftDown(heap, k, at, heap[at]!);
    } else if (key < heap[0]!) siftDown(heap, k, 0, key);
  }
  // Heapsort the kept keys: the largest (the k-th best) comes off first.
  const out = new Array<number>(k);
  for (let size = k - 1; size >= 0; size--) {
    out[size] = keyIndex(heap[0]!);
    const last = heap[size]!;
    heap[size] = -Infinity;
    siftDown(heap, size, 0, last);
  }
  return out;
}

/** Moves `key` down from `at` of a max-heap of `size` keys (heap[size] = -Infinity) to where it belongs. */
function siftDown(heap: Float64Array, size: number, at: number, key: number): void {
  for (let c = 2 * at + 1; c < size; c = 2 * at + 1) {
    // The larger child, without a branch (a data-dependent one mispredicts half the time).
    c += +(heap[c + 1]! > heap[c]!);
    if (!(heap[c]! > key)) break;
    heap[at] = heap[c]!;
    at = c;
  }
  heap[at] = key;
}

/**
 * Candidate generation: the top `limit` endpoints by a cheap prior mixing prompt match,
 * reachability from the history and what the prompt's goal needs next. Small catalogs
 * are ranked whole.
 */
export function generateCandidates(pc: PreparedCatalog, sig: RequestSignals, limit: number): number[] {
  const n = pc.catalog.endpoints.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const g = pc.graph;
  const { exact } = sig.knownFlags;
  // distance(last, i) <= 1: the last call itself and its direct successors (ascending,
  // so one cursor walks them alongside i).
  const last = sig.history.length ? sig.history[sig.history.length - 1]! : -1;
  const next = last >= 0 ? g.successors(last) : [];
  let at = 0;
  const prior = new Float32Array(n);
  // Per resource id: does an endpoint needing its ids match the prompt well? 0 = not asked
  // yet, 1 = yes, 2 = no. (Asked for every producer.)
  const consumerWanted = new Uint8Array(g.resourceCount);
  for (let i = 0; i < n; i++) {
    let p = Math.max(sig.similarity[i]!, sig.lexical[i]!);
    if (g.paramIds[i]!.length && g.satisfiableFlags(i, sig.knownFlags) === 1) p += 0.3;
    if (i === last || next[at] === i) p += 0.3;
    if (next[at] === i) at++;
    const produced = g.producedIds[i]!;
    for (let j = 0; j < produced.length; j++) {
      const r = produced[j]!;
      if (exact[r]) continue;
      if (consumerWanted[r] === 0) {
        const wanted = g.consumersOf(g.facts[i]!.producesIds[j]!).some((d) => sig.similarity[d]! > 0.5 * sig.maxSimilarity);
        consumerWanted[r] = wanted ? 1 : 2;
      }
      if (consumerWanted[r] === 1) p += 0.2;
    }
    prior[i] = p;
  }
  return topByScoreDesc(prior, limit);
}

/** Path parameter values for endpoint `c` from the history: same name first, then same resource. */
export function fillParams(pc: PreparedCatalog, c: number, resolved: readonly ResolvedCall[]): Record<string, string> {
  const f = pc.graph.facts[c]!;
  const out: Record<string, string> = {};
  f.pathParams.forEach((name, i) => {
    const res = f.paramResources[i]!;
    for (let h = resolved.length - 1; h >= 0 && out[name] === undefined; h--) {
      const r = resolved[h]!;
      const direct = r.params[name];
      if (direct !== undefined && !/^\{.*\}$/.test(direct)) {
        out[name] = direct;
        break;
      }
      if (r.endpoint < 0) continue;
      const hf = pc.graph.facts[r.endpoint]!;
      hf.pathParams.forEach((hp, j) => {
        const v = r.params[hp];
        if (out[name] === undefined && hf.paramResources[j] === res && v !== undefined && !/^\{.*\}$/.test(v)) out[name] = v;
      });
    }
  });
  return out;
}

/** Run the whole pipeline for one request. */
export function predict(pc: PreparedCatalog, input: PredictInput, scorer: Scorer): PredictOutput {
  const { resolved, unmatched } = resolveHistory(pc, input.history);
  const sig = buildSignals(pc, input, resolved);
  const candidates = generateCandidates(pc, sig, input.candidateLimit);
  const features = new Float32Array(candidates.length * NUM_FEATURES);
  computeFeatures(pc, sig, candidates, features);
  const scores = candidates.length ? scorer(features, candidates.length, NUM_FEATURES) : new Float32Array(0);
  const ranked = candidates
    .map((endpoint, i) => ({ endpoint, score: scores[i]!, similarity: sig.similarity[endpoint]!, params: {} as Record<string, string> }))
    .sort((a, b) => b.score - a.score || a.endpoint - b.endpoint);
  return { ranked, resolved, unmatched, candidatesGenerated: candidates.length, features, candidates };
}

