/**
 * Paraphrase augmentation for training prompts, from the committed word vectors.
 *
 * Synthetic prompts are written from the endpoints' own words, so a ranker trained on
 * them alone learns to trust exact word overlap. Real users say "lead actor" where the
 * API says "cast". Replacing some words of a training prompt by their nearest neighbours
 * in the embedding table (words the encoder already treats as close) teaches the ranker
 * to rely on embedding similarity where the words differ. Nothing here is specific to any
 * API: neighbours come from general English word vectors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../engine/package-root';
import { STOPWORDS, stem } from '../engine/tokenizer';
import { isActionVerb } from '../engine/verbs';
import { readInitializers } from './onnx-writer';

/** Only the most frequent words are offered as replacements (rare ones are noise). */
const NEIGHBOUR_VOCAB = 20_000;
const MIN_COSINE = 0.6;

export class SynonymSource {
  private readonly index = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();

  private constructor(
    private readonly words: string[],
    private readonly table: Float32Array,
    private readonly dim: number,
  ) {
    words.forEach((w, i) => this.index.set(w, i));
  }

  static load(modelDir = path.join(packageRoot(), 'models')): SynonymSource {
    const vocab = JSON.parse(fs.readFileSync(path.join(modelDir, 'embeddings-vocab.json'), 'utf8')) as { words: string[]; dim: number };
    const inits = readInitializers(fs.readFileSync(path.join(modelDir, 'embeddings.onnx')));
    const table = inits.get('table');
    if (!table || !(table.data instanceof Float32Array)) throw new Error('embeddings.onnx has no float "table" initializer');
    return new SynonymSource(vocab.words, table.data, vocab.dim);
  }

  /** Up to k close words (cosine >= MIN_COSINE), excluding forms of the word itself. */
  neighbours(word: string, k = 5): string[] {
    const key = word.toLowerCase();
    const hit = this.cache.get(key);
    if (hit) return hit;
    const id = this.index.get(key);
    let out: string[] = [];
    if (id !== undefined) {
      const d = this.dim;
      const q = this.table.subarray(id * d, id * d + d);
      let qn = 0;
      for (let j = 0; j < d; j++) qn += q[j]! * q[j]!;
      qn = Math.sqrt(qn) || 1;
      const best: { w: string; s: number }[] = [];
      const limit = Math.min(NEIGHBOUR_VOCAB, this.words.length);
      const own = stem(key);
      for (let i = 2; i < limit; i++) {
        if (i === id) continue;
        const w = this.words[i]!;
        if (!/^[a-z]{3,}$/.test(w) || STOPWORDS.has(w) || stem(w) === own) continue;
        let dot = 0;
        let n = 0;
        const o = i * d;
        for (let j = 0; j < d; j++) {
          dot += q[j]! * this.table[o + j]!;
          n += this.table[o + j]! * this.table[o + j]!;
        }
        const s = dot / (qn * (Math.sqrt(n) || 1));
        if (s < MIN_COSINE) continue;
        best.push({ w, s });
      }
      best.sort((a, b) => b.s - a.s);
      out = best.slice(0, k).map((b) => b.w);
    }
    this.cache.set(key, out);
    return out;
  }

  /**
   * Replace each lower-case content word (4+ letters) with a neighbour with probability
   * `p`. Capitalised words (names) and quoted spans are left alone.
   */
  paraphrase(prompt: string, rand: () => number, p = 0.35): string {
    let quoted = false;
    return prompt
      .split(/(\s+)/)
      .map((tok) => {
        if (/^["“]/.test(tok)) quoted = true;
        const inQuote = quoted;
        if (/["”]$/.test(tok)) quoted = false;
        const m = /^([a-z]{4,})([^a-z]*)$/.exec(tok);
        // Verbs stay: neighbours of "delete" include "insert", which would flip the intent.
        if (inQuote || !m || STOPWORDS.has(m[1]!) || isActionVerb(m[1]!) || rand() >= p) return tok;
        const options = this.neighbours(m[1]!);
        return options.length ? options[Math.floor(rand() * options.length)]! + m[2]! : tok;
      })
      .join('');
  }
}
