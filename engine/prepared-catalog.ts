/**
 * Per-catalog structures built once per catalog version (never per request): the path
 * trie, the resource graph, the BM25 index, path terms and the endpoint embeddings.
 */
import type { TextEncoder } from './embedder';
import { buildLexicalIndex, endpointText, type LexicalIndex } from './lexical';
import { PathRouter } from './path-router';
import { rowDots, type RowDots } from './row-dots';
import { buildResourceGraph, type ResourceGraph } from './resource-graph';
import { stem, terms, tokenize } from './tokenizer';
import { isRecordLevel } from './people';
import type { Catalog } from './types';

export interface PreparedCatalog {
  catalog: Catalog;
  router: PathRouter;
  graph: ResourceGraph;
  lexical: LexicalIndex;
  /** Stemmed terms of each endpoint's static path segments. */
  pathTerms: string[][];
  /** Stemmed words of each endpoint's resource noun ("order_item" -> ["order", "item"]), to meet prompt terms. */
  resourceTerms: string[][];
  /** Stemmed terms of each list endpoint's qualifier ("top rated" -> ["top", "rat"]). */
  qualifierTerms: string[][];
  /** Whether each endpoint's success response carries an "id" field anywhere. */
  returnsIds: boolean[];
  /**
   * Stemmed words of each endpoint's record-level response field names ("release_date",
   * "number_of_episodes"), without ids, names and the endpoint's own resource words: the
   * attributes a question can ask for ("when was it released?", "how many episodes?").
   */
  fieldTerms: ReadonlySet<string>[];
  /**
   * Stemmed nouns of each endpoint's record-level count fields ("number_of_episodes",
   * "follower_count", "total_seats" -> episod, follow, seat): the record itself answers
   * "how many episodes does it have?", without listing them.
   */
  countTerms: ReadonlySet<string>[];
  /** Endpoint embeddings, row-major endpoints x dim, L2-normalised; undefined without an encoder. */
  embeddings: Float32Array | undefined;
  dim: number;
  /** Name of the encoder that made `embeddings` (part of cache keys). */
  encoderName: string;
  /**
   * The catalog's mean endpoint embedding, and the endpoint embeddings with that mean
   * removed and re-normalised. In one API most endpoints share its main nouns ("movie",
   * "invoice"); centering removes what they all have in common, so similarity is about
   * what distinguishes one endpoint from its neighbours.
   */
  mean: Float32Array | undefined;
  centered: Float32Array | undefined;
  /**
   * Embeddings of what each endpoint returns (the leaf names of its success response
   * fields): a question asks for data ("who was the lead actor" ~ cast, character), and
   * the response fields say which endpoint has it.
   */
  responseEmbeddings: Float32Array | undefined;
  /** `embeddings` and `centered` prepared for the per-request similarity to every endpoint. */
  embeddingDots: RowDots | undefined;
  centeredDots: RowDots | undefined;
}

export async function prepareCatalog(catalog: Catalog, encoder?: TextEncoder): Promise<PreparedCatalog> {
  const eps = catalog.endpoints;
  const embeddings = encoder ? await embedAll(encoder, eps.map(embeddingText)) : undefined;
  const responseEmbeddings = encoder ? await embedAll(encoder, eps.map(responseText)) : undefined;
  const graph = buildResourceGraph(catalog);
  const { mean, centered } = embeddings ? centerRows(embeddings, eps.length, encoder!.dim) : { mean: undefined, centered: undefined };
  return {
    catalog,
    router: new PathRouter(eps, catalog.basePath),
    graph,
    lexical: buildLexicalIndex(eps),
    pathTerms: eps.map((e) => terms(e.path.split('/').filter((s) => s && !s.includes('{')).join(' '))),
    resourceTerms: graph.facts.map((f) => f.resourceTokens.map(stem)),
    qualifierTerms: eps.map((e) => terms(graph.facts[e.index]!.qualifier ?? '')),
    returnsIds: eps.map((e) => e.responseFields.some((f) => /(^|[.\]])id$/i.test(f) || /(^|\.)[a-z]+_?id$/i.test(f))),
    fieldTerms: eps.map((e) => recordFieldTerms(e.responseFields, graph.facts[e.index]!.resourceTokens)),
    countTerms: eps.map((e) => countFieldTerms(e.responseFields)),
    embeddings,
    dim: encoder ? encoder.dim : 0,
    encoderName: encoder ? encoder.name : 'none',
    mean,
    centered,
    responseEmbeddings,
    embeddingDots: embeddings ? rowDots(embeddings, eps.length, encoder!.dim) : undefined,
    centeredDots: centered ? rowDots(centered, eps.length, encoder!.dim) : undefined,
  };
}

/** Distinct leaf names of the success response's fields ("results[].poster_path" -> "poster_path"). */
export function responseText(e: Catalog['endpoints'][number]): string {
  const leaves = new Set<string>();
  for (const f of e.responseFields) {
    const leaf = f.split(/[.[\]]+/).filter(Boolean).pop();
    if (leaf) leaves.add(leaf);
  }
  return [...leaves].join(' ');
}

const GENERIC_FIELD_TERMS = new Set(terms('id ids uuid name title type kind object url uri href link links self page data result results count total item items value values path number'));

function recordFieldTerms(fields: readonly string[], resourceTokens: readonly string[]): ReadonlySet<string> {
  const own = new Set(terms(resourceTokens.join(' ')));
  const out = new Set<string>();
  for (const f of fields) {
    const cut = f.lastIndexOf('.');
    if (!isRecordLevel(cut < 0 ? '' : f.slice(0, cut))) continue;
    for (const t of terms(f.slice(cut + 1).replace(/\[\]$/, ''))) if (!GENERIC_FIELD_TERMS.has(t) && !own.has(t)) out.add(t);
  }
  return out;
}

/**
 * The counted noun of a count field's words, or undefined: number_of_X, num_X, total_X,
 * count_of_X, X_count, X_total. ("episode_number" is an ordinal, not a count.)
 */
export function countedNoun(words: readonly string[]): string[] | undefined {
  if (words.length < 2) return undefined;
  const [a, b] = words;
  let rest: readonly string[] | undefined;
  if ((a === 'number' || a === 'count') && b === 'of') rest = words.slice(2);
  else if (a === 'num' || a === 'total' || a === 'count') rest = words.slice(b === 'of' ? 2 : 1);
  else if (words[words.length - 1] === 'count' || words[words.length - 1] === 'total') rest = words.slice(0, -1);
  return rest && rest.length ? [...rest] : undefined;
}

function countFieldTerms(fields: readonly string[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const f of fields) {
    const cut = f.lastIndexOf('.');
    if (!isRecordLevel(cut < 0 ? '' : f.slice(0, cut))) continue;
    const noun = countedNoun(tokenize(f.slice(cut + 1).replace(/\[\]$/, '')));
    if (noun) for (const t of terms(noun.join(' '))) if (!GENERIC_FIELD_TERMS.has(t)) out.add(t);
  }
  return out;
}

/** Embeds texts in batches: a batch bounds the padded tensor for catalogs with thousands of endpoints. */
async function embedAll(encoder: TextEncoder, texts: string[]): Promise<Float32Array> {
  const out = new Float32Array(texts.length * encoder.dim);
  const BATCH = 64;
  for (let i = 0; i < texts.length; i += BATCH) out.set(await encoder.embed(texts.slice(i, i + BATCH)), i * encoder.dim);
  return out;
}

function centerRows(rows: Float32Array, n: number, d: number): { mean: Float32Array; centered: Float32Array } {
  const mean = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += rows[i * d + j]! / n;
  const centered = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = rows[i * d + j]! - mean[j]!;
      centered[i * d + j] = v;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < d; j++) centered[i * d + j]! *= inv;
  }
  return { mean, centered };
}

/** The text an endpoint is embedded from: what it does, in its own words. */
export function embeddingText(e: Catalog['endpoints'][number]): string {
  return endpointText(e);
}
