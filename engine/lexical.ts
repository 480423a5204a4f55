/**
 * BM25 over endpoint text. Each endpoint is one document made of its path's static
 * segments, operationId, summary, description, tags and parameter names, tokenized by
 * engine/tokenizer so "movie_credits", "movieCredits" and "movie credits" meet.
 *
 * Fields are weighted by repetition (path and summary count twice): a cheap way to make
 * the short, precise fields outweigh long descriptions without a BM25F implementation.
 */
import { terms } from './tokenizer';
import type { Endpoint } from './types';

const K1 = 1.2;
const B = 0.75;

export interface LexicalIndex {
  /** term -> postings as [endpoint, tf, endpoint, tf, ...] */
  postings: Map<string, Float32Array>;
  docLen: Float32Array;
  avgLen: number;
  idf: Map<string, number>;
  size: number;
}

/** Text of an endpoint as the lexical index and the encoders see it. */
export function endpointText(e: Endpoint): string {
  const staticPath = e.path
    .split('/')
    .filter((s) => s && !s.includes('{'))
    .join(' ');
  const firstSentence = e.description.split(/(?<=[.!?])\s/)[0] ?? '';
  return [staticPath, staticPath, e.operationId, e.summary, e.summary, firstSentence, e.tags.join(' ')].join(' ');
}

export function buildLexicalIndex(endpoints: readonly Endpoint[]): LexicalIndex {
  const tmp = new Map<string, number[]>();
  const docLen = new Float32Array(endpoints.length);
  for (const e of endpoints) {
    const counts = new Map<string, number>();
    const ts = terms(endpointText(e));
    docLen[e.index] = ts.length;
    for (const t of ts) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, c] of counts) {
      let list = tmp.get(t);
      if (!list) tmp.set(t, (list = []));
      list.push(e.index, c);
    }
  }
  const n = endpoints.length;
  let total = 0;
  for (const l of docLen) total += l;
  const postings = new Map<string, Float32Array>();
  const idf = new Map<string, number>();
  for (const [t, list] of tmp) {
    postings.set(t, Float32Array.from(list));
    const df = list.length / 2;
    idf.set(t, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
  }
  return { postings, docLen, avgLen: n ? total / n : 0, idf, size: n };
}

/** BM25 score of every endpoint for `query`; `out` is reused when given. */
export function lexicalScores(index: LexicalIndex, query: string, out?: Float32Array): Float32Array {
  const scores = out && out.length === index.size ? out.fill(0) : new Float32Array(index.size);
  const seen = new Set<string>();
  for (const t of terms(query)) {
    if (seen.has(t)) continue;
    seen.add(t);
    const post = index.postings.get(t);
    if (!post) continue;
    const idf = index.idf.get(t)!;
    for (let i = 0; i < post.length; i += 2) {
      const doc = post[i]!;
      const tf = post[i + 1]!;
      const norm = tf + K1 * (1 - B + (B * index.docLen[doc]!) / (index.avgLen || 1));
      scores[doc]! += (idf * (tf * (K1 + 1))) / norm;
    }
  }
  return scores;
}
