/**
 * The default sentence encoder: SIF-weighted word vectors pooled by an ONNX graph
 * (built by training/build-embeddings.ts) and run with onnxruntime-web's WASM backend.
 *
 *   text -> tokenize -> ids (word | stem | compound split | [UNK]) -> pad -> ONNX -> [n, dim]
 *
 * Only the id lookup lives here; weighting, pooling and normalisation are in the graph,
 * so the model file alone defines the embedding.
 */
import fs from 'node:fs';
import * as ort from 'onnxruntime-web';
import { tokenize, baseForm } from './tokenizer';
import type { TextEncoder } from './embedder';

let ortReady = false;
/**
 * onnxruntime-web configured for servers: one WASM thread per session (each Piscina
 * worker is already a thread; nested thread pools would oversubscribe 2 cores) and no
 * proxy worker. Works the same on the main thread and inside worker_threads.
 */
export function onnxRuntime(): typeof ort {
  if (!ortReady) {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
    ortReady = true;
  }
  return ort;
}

type GraphOptimization = NonNullable<ort.InferenceSession.SessionOptions['graphOptimizationLevel']>;

/**
 * Session options shared by the encoders: WASM, errors-only logs, and a graph
 * optimisation level (full by default: BERT graphs gain from fused operators).
 * A fresh object per call: onnxruntime-web writes into the options it is given.
 */
export function sessionOptions(graphOptimizationLevel: GraphOptimization = 'all'): ort.InferenceSession.SessionOptions {
  return { executionProviders: ['wasm'], graphOptimizationLevel, logSeverityLevel: 3 };
}

/**
 * The word-vector graph is a table lookup and a masked mean: optimising it changed no
 * output bit and no speed, but the optimised copy cost ~30 MB resident per session.
 */
const WORD_GRAPH_OPTIMIZATION: GraphOptimization = 'disabled';

/** Shape of models/embeddings-vocab.json (metadata first, then the words in id order). */
export interface WordVocabFile {
  format: 'opensesame-word-vocab';
  version: number;
  dim: number;
  vocabSize: number;
  padId: number;
  unkId: number;
  source: { package: string; version: string; license: string };
  builtAt: string;
  words: string[];
}

export interface WordEncoderOptions {
  /** Path of the ONNX pooling model. */
  modelPath: string;
  /** Path of the vocabulary JSON written next to it. */
  vocabPath: string;
  /** Tokens kept per text (longer texts are truncated); default 256. */
  maxLength?: number;
}

/** Smallest piece a compound word is split into ("userprofile" -> user + profile). */
const MIN_PIECE = 3;
/** Bound on the per-word id cache; cleared wholesale when full (cheap, no LRU bookkeeping). */
const WORD_CACHE_LIMIT = 50_000;

export class WordVectorEncoder implements TextEncoder {
  readonly name: string;
  readonly dim: number;
  readonly vocabSize: number;
  private readonly ids: Map<string, number>;
  private readonly unkId: number;
  private readonly padId: number;
  private readonly maxLength: number;
  private readonly wordCache = new Map<string, readonly number[]>();
  /** session.run calls are chained: the WASM backend runs one inference at a time per session. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly session: ort.InferenceSession, vocab: WordVocabFile, maxLength: number) {
    this.dim = vocab.dim;
    this.vocabSize = vocab.words.length;
    this.unkId = vocab.unkId;
    this.padId = vocab.padId;
    this.maxLength = maxLength;
    this.name = `word-vectors:${vocab.source.package}@${vocab.source.version}:${vocab.words.length}`;
    this.ids = new Map();
    vocab.words.forEach((w, i) => {
      if (i !== vocab.padId && i !== vocab.unkId) this.ids.set(w, i);
    });
  }

  /** Load the model and vocabulary; rejects when either is missing or they disagree. */
  static async load(opts: WordEncoderOptions): Promise<WordVectorEncoder> {
    const maxLength = opts.maxLength ?? 256;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`maxLength must be a positive integer, got ${opts.maxLength}`);
    const [modelBytes, vocabText] = await Promise.all([fs.promises.readFile(opts.modelPath), fs.promises.readFile(opts.vocabPath, 'utf8')]);
    const vocab = JSON.parse(vocabText) as WordVocabFile;
    if (vocab.format !== 'opensesame-word-vocab' || !Array.isArray(vocab.words) || vocab.words.length !== vocab.vocabSize) {
      throw new Error(`${opts.vocabPath}: not an opensesame word vocabulary (or words/vocabSize disagree)`);
    }
    const session = await onnxRuntime().InferenceSession.create(modelBytes, sessionOptions(WORD_GRAPH_OPTIMIZATION));
    if (!session.inputNames.includes('input_ids') || !session.outputNames.includes('embedding')) {
      await session.release();
      throw new Error(`${opts.modelPath}: expected input "input_ids" and output "embedding"`);
    }
    return new WordVectorEncoder(session, vocab, maxLength);
  }

  /** Vocabulary id of `word`, or undefined when it has none. */
  idOf(word: string): number | undefined {
    return this.ids.get(word);
  }

  /** Ids for one text, in token order, truncated to maxLength; OOV words become [UNK]. */
  tokenIds(text: string): number[] {
    const out: number[] = [];
    for (const tok of tokenize(text)) {
      for (const id of this.wordIds(tok)) {
        if (out.length >= this.maxLength) return out;
        out.push(id);
      }
    }
    return out;
  }

  private wordIds(word: string): readonly number[] {
    let ids = this.wordCache.get(word);
    if (ids === undefined) {
      ids = this.resolveWord(word);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, ids);
    }
    return ids;
  }

  /** Exact word, then its stem, then the best in-vocabulary compound split, else [UNK]. */
  private resolveWord(word: string): number[] {
    const direct = this.lookup(word);
    if (direct !== undefined) return [direct];
    const split = this.splitCompound(word, 3);
    if (split) return split;
    // Last resort: an in-vocabulary prefix or suffix covering >= 60% of the word
    // ("webhookz" -> "webhook"); a near word carries more signal than [UNK].
    for (let len = word.length - 1; len >= Math.max(4, Math.ceil(word.length * 0.6)); len--) {
      const pre = this.lookup(word.slice(0, len));
      if (pre !== undefined) return [pre];
      const suf = this.lookup(word.slice(word.length - len));
      if (suf !== undefined) return [suf];
    }
    return [this.unkId];
  }

  private lookup(word: string): number | undefined {
    return this.ids.get(word) ?? this.ids.get(baseForm(word));
  }

  /**
   * Split `word` into at most `maxPieces` in-vocabulary pieces of >= 3 chars, preferring
   * the longest first piece ("moviecredits" -> movie + credits, "userprofile" -> user +
   * profile). Undefined when no full split exists.
   */
  private splitCompound(word: string, maxPieces: number): number[] | undefined {
    if (maxPieces < 2 || word.length < 2 * MIN_PIECE) return undefined;
    for (let cut = word.length - MIN_PIECE; cut >= MIN_PIECE; cut--) {
      const head = this.lookup(word.slice(0, cut));
      if (head === undefined) continue;
      const rest = word.slice(cut);
      const tail = this.lookup(rest);
      if (tail !== undefined) return [head, tail];
      const more = this.splitCompound(rest, maxPieces - 1);
      if (more) return [head, ...more];
    }
    return undefined;
  }

  /** Embeds `texts` into a row-major n x dim Float32Array of unit (or zero) rows. */
  embed(texts: string[]): Promise<Float32Array> {
    if (texts.length === 0) return Promise.resolve(new Float32Array(0));
    let input: ort.Tensor;
    try {
      const rows = texts.map((t) => this.tokenIds(t));
      const seq = Math.max(1, ...rows.map((r) => r.length));
      const ids = new BigInt64Array(texts.length * seq).fill(BigInt(this.padId));
      rows.forEach((r, i) => {
        for (let j = 0; j < r.length; j++) ids[i * seq + j] = BigInt(r[j]!);
      });
      input = new ort.Tensor('int64', ids, [texts.length, seq]);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.tail.then(() => this.session.run({ input_ids: input }));
    this.tail = run.catch(() => undefined);
    return run.then((out) => {
      const data = out.embedding!.data as Float32Array;
      // Copy out of ORT's buffer so callers may keep or transfer the result.
      return data.length === texts.length * this.dim ? new Float32Array(data) : Promise.reject(new Error(`embedding output has ${data.length} values, expected ${texts.length * this.dim}`));
    });
  }

  /** Free the WASM session. */
  release(): Promise<void> {
    return this.session.release();
  }
}
