/**
 * A user-supplied BERT-style ONNX encoder (e.g. sentence-transformers/all-MiniLM-L6-v2
 * exported to ONNX, with its vocab.txt), run with onnxruntime-web.
 *
 *   texts -> WordPiece ids [CLS] .. [SEP] -> pad to the batch max -> input_ids,
 *   attention_mask, token_type_ids (int64, whichever the model declares)
 *   -> last_hidden_state [b, s, h] -> mean over positions where mask = 1 -> L2 normalise
 *
 * Pooling is done here rather than in the graph because exported models differ in what
 * they output; a model whose first output is already pooled ([b, h]) is only normalised.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { WordPieceTokenizer, type WordPieceOptions } from './wordpiece';
import { onnxRuntime, sessionOptions } from './word-encoder';
import type { TextEncoder } from './embedder';

export interface BertEncoderOptions extends WordPieceOptions {
  /** Path of the ONNX model. */
  modelPath: string;
  /** Path of vocab.txt; default: vocab.txt next to the model. */
  vocabPath?: string;
  /** Max tokens per text including [CLS] and [SEP]; default 128. */
  maxLength?: number;
}

export class BertEncoder implements TextEncoder {
  readonly name: string;
  private hidden = 0;
  private readonly outputName: string;
  private readonly wantsMask: boolean;
  private readonly wantsTypes: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tokenizer: WordPieceTokenizer,
    private readonly maxLength: number,
    modelPath: string,
  ) {
    this.name = `bert:${path.basename(modelPath)}`;
    this.outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;
    this.wantsMask = session.inputNames.includes('attention_mask');
    this.wantsTypes = session.inputNames.includes('token_type_ids');
  }

  /** Hidden size, known after load (a one-text warm-up run measures it). */
  get dim(): number {
    return this.hidden;
  }

  /** Load model and vocabulary and run one warm-up inference; rejects on any mismatch. */
  static async load(opts: BertEncoderOptions): Promise<BertEncoder> {
    const maxLength = opts.maxLength ?? 128;
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`maxLength must be an integer >= 2, got ${opts.maxLength}`);
    const vocabPath = opts.vocabPath ?? path.join(path.dirname(opts.modelPath), 'vocab.txt');
    const [modelBytes, vocabText] = await Promise.all([fs.promises.readFile(opts.modelPath), fs.promises.readFile(vocabPath, 'utf8')]);
    const tokenizer = WordPieceTokenizer.fromVocabText(vocabText, opts);
    const session = await onnxRuntime().InferenceSession.create(modelBytes, sessionOptions());
    if (!session.inputNames.includes('input_ids')) {
      await session.release();
      throw new Error(`${opts.modelPath}: the model has no "input_ids" input (inputs: ${session.inputNames.join(', ')})`);
    }
    const enc = new BertEncoder(session, tokenizer, maxLength, opts.modelPath);
    const probe = await enc.run(['hello']).catch(async (err: unknown) => {
      await session.release();
      throw err;
    });
    enc.hidden = probe.length;
    return enc;
  }

  embed(texts: string[]): Promise<Float32Array> {
    if (texts.length === 0) return Promise.resolve(new Float32Array(0));
    return this.run(texts);
  }

  private run(texts: string[]): Promise<Float32Array> {
    let feeds: Record<string, ort.Tensor>;
    let mask: BigInt64Array;
    let seq: number;
    try {
      const rows = texts.map((t) => this.tokenizer.encode(t, this.maxLength));
      seq = Math.max(...rows.map((r) => r.length));
      const ids = new BigInt64Array(texts.length * seq).fill(BigInt(this.tokenizer.padId));
      mask = new BigInt64Array(texts.length * seq);
      rows.forEach((r, i) => {
        for (let j = 0; j < r.length; j++) {
          ids[i * seq + j] = BigInt(r[j]!);
          mask[i * seq + j] = 1n;
        }
      });
      const dims = [texts.length, seq];
      feeds = { input_ids: new ort.Tensor('int64', ids, dims) };
      if (this.wantsMask) feeds.attention_mask = new ort.Tensor('int64', mask, dims);
      if (this.wantsTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(texts.length * seq), dims);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.tail.then(() => this.session.run(feeds, [this.outputName]));
    this.tail = run.catch(() => undefined);
    return run.then((out) => {
      const t = out[this.outputName]!;
      if (t.type !== 'float32') throw new Error(`${this.outputName}: expected float32, got ${t.type}`);
      return poolAndNormalise(t.data as Float32Array, t.dims, mask, texts.length, seq);
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Masked mean over the sequence axis of [b, s, h] (or pass-through of [b, h]), then L2
 * normalisation of each row; rows with no unmasked position stay zero.
 */
export function poolAndNormalise(data: Float32Array, dims: readonly number[], mask: BigInt64Array, batch: number, seq: number): Float32Array {
  let out: Float32Array;
  let h: number;
  if (dims.length === 3 && dims[0] === batch && dims[1] === seq) {
    h = dims[2]!;
    out = new Float32Array(batch * h);
    for (let b = 0; b < batch; b++) {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (mask[b * seq + s] === 0n) continue;
        count++;
        const src = (b * seq + s) * h;
        for (let k = 0; k < h; k++) out[b * h + k]! += data[src + k]!;
      }
      if (count > 0) for (let k = 0; k < h; k++) out[b * h + k]! /= count;
    }
  } else if (dims.length === 2 && dims[0] === batch) {
    h = dims[1]!;
    out = new Float32Array(data);
  } else {
    throw new Error(`encoder output has shape [${dims.join(', ')}], expected [${batch}, ${seq}, hidden] or [${batch}, hidden]`);
  }
  for (let b = 0; b < batch; b++) {
    let ss = 0;
    for (let k = 0; k < h; k++) ss += out[b * h + k]! ** 2;
    const inv = 1 / Math.sqrt(Math.max(ss, 1e-12));
    for (let k = 0; k < h; k++) out[b * h + k]! *= inv;
  }
  return out;
}
