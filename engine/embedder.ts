/**
 * The sentence-encoder interface the engine uses, and the factory that loads one.
 *
 * Two implementations:
 *  - 'word-vectors' (default): the committed models/embeddings.onnx, SIF-weighted word
 *    vectors pooled in ONNX (engine/word-encoder.ts, built by training/build-embeddings.ts);
 *  - 'bert': a user-supplied BERT-style ONNX encoder + vocab.txt (engine/bert-encoder.ts).
 */
import path from 'node:path';
import { packageRoot } from './package-root';
import { WordVectorEncoder } from './word-encoder';
import { BertEncoder } from './bert-encoder';

export interface TextEncoder {
  /** Embedding width. */
  readonly dim: number;
  /** Identifies model and vocabulary, e.g. for cache keys. */
  readonly name: string;
  /**
   * Embeds each text; result is row-major n x dim. Rows are L2-normalised, except that a
   * text with no known word (empty, or only unknown tokens) gets a zero row.
   */
  embed(texts: string[]): Promise<Float32Array>;
}

export interface LoadEncoderOptions {
  /** Which encoder family; default 'word-vectors'. */
  kind?: 'word-vectors' | 'bert';
  /** ONNX model path. Default for 'word-vectors': models/embeddings.onnx; required for 'bert'. */
  modelPath?: string;
  /**
   * Vocabulary path. 'word-vectors': models/embeddings-vocab.json by default;
   * 'bert': vocab.txt next to the model by default.
   */
  vocabPath?: string;
  /** Max tokens per text (word-vectors default 256; bert default 128 incl. [CLS]/[SEP]). */
  maxLength?: number;
}

export { packageRoot };

/** Default paths of the committed word-vector model. */
export function defaultModelPaths(): { modelPath: string; vocabPath: string } {
  const models = path.join(packageRoot(), 'models');
  return { modelPath: path.join(models, 'embeddings.onnx'), vocabPath: path.join(models, 'embeddings-vocab.json') };
}

/** Loads an encoder; rejects with a message naming the missing file or bad option. */
export async function loadEncoder(opts: LoadEncoderOptions = {}): Promise<TextEncoder> {
  const kind = opts.kind ?? 'word-vectors';
  if (kind === 'bert') {
    if (!opts.modelPath) throw new Error("loadEncoder: kind 'bert' needs modelPath (an ONNX file with vocab.txt beside it or vocabPath)");
    return BertEncoder.load({ modelPath: opts.modelPath, vocabPath: opts.vocabPath, maxLength: opts.maxLength });
  }
  if (kind !== 'word-vectors') throw new Error(`loadEncoder: unknown kind ${JSON.stringify(kind)}`);
  const defaults = defaultModelPaths();
  return WordVectorEncoder.load({
    modelPath: opts.modelPath ?? defaults.modelPath,
    vocabPath: opts.vocabPath ?? defaults.vocabPath,
    maxLength: opts.maxLength,
  });
}

/** Cosine of two rows inside larger arrays (dot / (|a| |b|); 0 when either is zero). */
export function cosine(a: Float32Array, aOff: number, b: Float32Array, bOff: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < dim; i++) {
    const x = a[aOff + i]!;
    const y = b[bOff + i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
