import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadEncoder } from '../engine/embedder';
import { BertEncoder } from '../engine/bert-encoder';
import { WordPieceTokenizer } from '../engine/wordpiece';
import { encodeModel } from '../training/onnx-writer';

const HIDDEN = 8;
const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', 'un', '##aff', '##able', 'hello', 'world', 'user', '##s', 'list',
  'delete', 'account', 'api', '##key', ',', '!', '.', '/', '{', '}', 'id', 'a', 'the', 'cafe',
];

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
function randoms(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (((x ^ (x >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  });
}

const emb = randoms(VOCAB.length * HIDDEN, 1);
const typeEmb = randoms(2 * HIDDEN, 2);
const proj = randoms(HIDDEN * HIDDEN, 3);
const maskBias = randoms(HIDDEN, 4);

/**
 * A BERT-shaped toy: hidden = (E[ids] + T[types]) @ W + mask * b, output [b, s, 8].
 * Padded positions get non-zero states, so only a correct masked mean matches.
 */
function toyBert(withTypes: boolean, outputName: string): Uint8Array {
  const dims = ['batch', 'seq'];
  return encodeModel({
    graphName: 'toy_bert',
    opset: 14,
    inputs: [
      { name: 'input_ids', type: 'int64', shape: dims },
      { name: 'attention_mask', type: 'int64', shape: dims },
      ...(withTypes ? [{ name: 'token_type_ids', type: 'int64' as const, shape: dims }] : []),
    ],
    outputs: [{ name: outputName, type: 'float', shape: ['batch', 'seq', HIDDEN] }],
    initializers: [
      { name: 'emb', dims: [VOCAB.length, HIDDEN], data: emb },
      ...(withTypes ? [{ name: 'type_emb', dims: [2, HIDDEN], data: typeEmb }] : []),
      { name: 'proj', dims: [HIDDEN, HIDDEN], data: proj },
      { name: 'mask_bias', dims: [HIDDEN], data: maskBias },
      { name: 'last_axis', dims: [1], data: BigInt64Array.of(-1n) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['emb', 'input_ids'], outputs: ['e'] },
      ...(withTypes
        ? [{ op: 'Gather', inputs: ['type_emb', 'token_type_ids'], outputs: ['te'] }, { op: 'Add', inputs: ['e', 'te'], outputs: ['x'] }]
        : [{ op: 'Identity', inputs: ['e'], outputs: ['x'] }]),
      { op: 'MatMul', inputs: ['x', 'proj'], outputs: ['h'] },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mf'], attrs: { to: { int: 1 } } },
      { op: 'Unsqueeze', inputs: ['mf', 'last_axis'], outputs: ['mf3'] },
      { op: 'Mul', inputs: ['mf3', 'mask_bias'], outputs: ['mb'] },
      { op: 'Add', inputs: ['h', 'mb'], outputs: [outputName] },
    ],
  });
}

/** TS reference: the toy's hidden states over the real tokens only, mean, L2 normalise. */
function reference(ids: number[], withTypes: boolean): Float32Array {
  const mean = new Float64Array(HIDDEN);
  for (const id of ids) {
    for (let j = 0; j < HIDDEN; j++) {
      let h = maskBias[j]!;
      for (let k = 0; k < HIDDEN; k++) h += (emb[id * HIDDEN + k]! + (withTypes ? typeEmb[k]! : 0)) * proj[k * HIDDEN + j]!;
      mean[j]! += h / ids.length;
    }
  }
  const n = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
  return Float32Array.from(mean, (x) => x / n);
}

t.test('WordPiece tokenizer', async (t) => {
  const wp = WordPieceTokenizer.fromVocabText(VOCAB.join('\n') + '\n');
  t.equal(wp.size, VOCAB.length);
  t.same(wp.tokenize('unaffable'), ['un', '##aff', '##able'], 'greedy longest-match-first with ## continuation');
  t.same(wp.tokenize('Hello, World!'), ['hello', ',', 'world', '!'], 'lower-cases and splits punctuation');
  t.same(wp.tokenize('Café  users\t/ {id}'), ['cafe', 'user', '##s', '/', '{', 'id', '}'], 'strips accents, splits paths');
  t.same(wp.tokenize('unaffablex'), ['[UNK]'], 'a word without a full split is [UNK]');
  t.same(wp.tokenize('apikey'), ['api', '##key']);
  t.same(wp.basicTokenize('a\u0000b\u200bc 東京'), ['abc', '東', '京'], 'drops control/format chars, spaces out CJK');
  const short = WordPieceTokenizer.fromVocabText(VOCAB.join('\n'), { maxInputCharsPerWord: 5 });
  t.same(short.tokenize('unaffable'), ['[UNK]'], 'over-long words are [UNK]');
  t.same(wp.encode('hello world', 16), [2, 7, 8, 3], '[CLS] ... [SEP]');
  t.same(wp.encode('hello world user list', 4), [2, 7, 8, 3], 'truncated to maxLength with [SEP] kept');
  const cased = WordPieceTokenizer.fromVocabText(VOCAB.join('\n'), { lowerCase: false });
  t.same(cased.tokenize('Hello'), ['[UNK]'], 'cased mode keeps case');
  t.throws(() => WordPieceTokenizer.fromVocabText('a\nb\n'), /special token/, 'vocab without specials is refused');
});

t.test('BERT-style ONNX encoder', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'model.onnx'), toyBert(true, 'last_hidden_state'));
  fs.writeFileSync(path.join(dir, 'vocab.txt'), VOCAB.join('\n') + '\n');
  const wp = WordPieceTokenizer.fromVocabText(VOCAB.join('\n'));

  const enc = await loadEncoder({ kind: 'bert', modelPath: path.join(dir, 'model.onnx') });
  t.ok(enc instanceof BertEncoder);
  t.teardown(() => (enc as BertEncoder).release());
  t.equal(enc.dim, HIDDEN, 'hidden size learnt from the model');
  t.match(enc.name, /^bert:model\.onnx$/);

  const texts = ['hello world', 'Delete the user accounts, list APIs!', 'unaffable', '', 'zzz'];
  const out = await enc.embed(texts);
  t.equal(out.length, texts.length * HIDDEN);
  texts.forEach((s, i) => {
    const ref = reference(wp.encode(s, 128), true);
    let diff = 0;
    for (let k = 0; k < HIDDEN; k++) diff = Math.max(diff, Math.abs(out[i * HIDDEN + k]! - ref[k]!));
    t.ok(diff < 1e-5, `masked mean pooling matches for ${JSON.stringify(s)} (max diff ${diff.toExponential(2)})`);
  });
  const alone = await enc.embed(['hello world']);
  t.same(Array.from(alone), Array.from(out.subarray(0, HIDDEN)), 'batch padding does not change a row');
  t.equal((await enc.embed([])).length, 0);

  await t.test('model without token_type_ids, first output used', async (t) => {
    fs.writeFileSync(path.join(dir, 'notypes.onnx'), toyBert(false, 'hidden'));
    const enc2 = await loadEncoder({ kind: 'bert', modelPath: path.join(dir, 'notypes.onnx'), vocabPath: path.join(dir, 'vocab.txt'), maxLength: 4 });
    t.teardown(() => (enc2 as BertEncoder).release());
    const v = await enc2.embed(['hello world user list']);
    const ref = reference(wp.encode('hello world user list', 4), false);
    t.ok(Array.from(v).every((x, k) => Math.abs(x - ref[k]!) < 1e-5), 'matches with maxLength truncation');
  });

  await t.rejects(loadEncoder({ kind: 'bert', modelPath: path.join(dir, 'model.onnx'), vocabPath: path.join(dir, 'nope.txt') }), 'missing vocab rejects');
});
