/**
 * Inside a prediction worker thread. Loads once per thread: the encoder (ONNX), the
 * WASM ranker and a read-only handle on the LMDB store. Catalogs, the ranker model and
 * transition snapshots are cached and refreshed only when the task's version stamps
 * differ from what this thread holds — never rebuilt per request.
 */
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { threadId } from 'node:worker_threads';
import { loadRankerModelFile, type RankerModel } from '../core-wasm/model';
import { loadWasmEvaluator, type WasmEvaluator } from '../core-wasm/loader';
import { buildCatalog } from '../engine/catalog';
import type { Catalog } from '../engine/types';
import { loadEncoder, type TextEncoder } from '../engine/embedder';
import { FEATURE_NAMES, type TransitionLookup } from '../engine/features';
import { heuristicScorer } from '../engine/heuristic-scorer';
import { prepareCatalog, type PreparedCatalog } from '../engine/prepared-catalog';
import { fillParams, goalText, predict, type Scorer } from '../engine/predictor';
import { openStore, pairKey, type Store, type TransitionSnapshot } from '../store';
import type { BatchResult, PredictResult, PredictTask, ProbeResult, ProbeTask, WorkerBatch, WorkerConfig, WorkerResult, WorkerTask } from './types';

const cfg = workerData as WorkerConfig;

interface Loaded {
  store: Store;
  encoder: TextEncoder;
  evaluator: WasmEvaluator;
}

let loading: Promise<Loaded> | undefined;
/** The store once loaded, for releaseSnapshot. */
let loadedStore: Store | undefined;
let model: RankerModel | undefined;
let modelStamp = -1;
let modelError: string | undefined;
const catalogs = new Map<string, { hash: string; pc: Promise<PreparedCatalog> }>();
const transitions = new Map<string, { version: number; lookup: TransitionLookup }>();

function load(): Promise<Loaded> {
  loading ??= (async () => {
    const store = openStore({ path: cfg.dataDir, readOnly: true });
    const encoder = await loadEncoder({ kind: cfg.embeddingKind, modelPath: cfg.embeddingModel, vocabPath: cfg.embeddingVocab });
    const evaluator = await loadWasmEvaluator();
    loadedStore = store;
    return { store, encoder, evaluator };
  })();
  return loading;
}

/** (Re)load the ranker when the main thread's stamp moved; a refused file keeps the old model. */
function refreshModel(l: Loaded, stamp: number): void {
  if (stamp === modelStamp) return;
  modelStamp = stamp;
  try {
    const next = loadRankerModelFile(cfg.rankerPath, FEATURE_NAMES);
    l.evaluator.setModel(next);
    model = next;
    modelError = undefined;
  } catch (err) {
    modelError = (err as Error).message;
  }
}

function scorerFor(l: Loaded): Scorer {
  if (!model) return heuristicScorer;
  return (features, rows, stride) => l.evaluator.score(features, rows, stride);
}

function catalogFor(l: Loaded, specId: string, hash: string): Promise<PreparedCatalog> {
  const held = catalogs.get(specId);
  if (held && held.hash === hash) return held.pc;
  const pc = (async () => {
    let rec = l.store.specs.get(specId);
    if (!rec || rec.catalogHash !== hash) {
      l.store.refresh(); // written by the main thread after our read snapshot was taken
      rec = l.store.specs.get(specId);
    }
    if (!rec) throw new Error(`spec ${specId} is not in the store`);
    // The parsed catalog is stored beside the document; only old records need a re-parse.
    const catalog: Catalog = rec.catalogJson ? JSON.parse(rec.catalogJson) : await buildCatalog(JSON.parse(rec.rawJson), { specId });
    return prepareCatalog(catalog, l.encoder);
  })();
  catalogs.set(specId, { hash, pc });
  pc.catch(() => catalogs.delete(specId));
  return pc;
}

function transitionsFor(l: Loaded, specId: string, version: number): TransitionLookup | undefined {
  if (version === 0) return undefined;
  const held = transitions.get(specId);
  if (held && held.version === version) return held.lookup;
  l.store.refresh();
  const lookup = snapshotLookup(l.store.transitions.snapshot(specId));
  transitions.set(specId, { version, lookup });
  return lookup;
}

function snapshotLookup(s: TransitionSnapshot): TransitionLookup {
  return {
    bigram: (prev, next) => s.bigrams.get(prev)?.get(next) ?? 0,
    bigramTotal: (prev) => s.prevTotals.get(prev) ?? 0,
    trigram: (p2, p1, next) => s.trigrams.get(pairKey(p2, p1))?.get(next) ?? 0,
    trigramTotal: (p2, p1) => s.pairTotals.get(pairKey(p2, p1)) ?? 0,
  };
}

async function runPredict(task: PredictTask): Promise<PredictResult> {
  const t0 = performance.now();
  const l = await load();
  refreshModel(l, task.modelStamp);
  const pc = await catalogFor(l, task.specId, task.catalogHash);
  let embedding = task.promptEmbedding;
  let fresh: Float32Array | undefined;
  const t1 = performance.now();
  if (!embedding || embedding.length !== l.encoder.dim) {
    // slice(): own the buffer, so it can be transferred without touching the encoder's memory.
    embedding = fresh = (await l.encoder.embed([goalText(task.prompt)])).slice(0, l.encoder.dim);
  }
  const t2 = performance.now();
  const out = predict(
    pc,
    {
      prompt: task.prompt,
      history: task.history,
      now: task.now,
      promptEmbedding: embedding,
      transitions: transitionsFor(l, task.specId, task.transitionsVersion),
      candidateLimit: Math.max(cfg.candidateLimit, task.topN),
    },
    scorerFor(l),
  );
  const top = out.ranked.slice(0, task.topN);
  const t3 = performance.now();
  return {
    kind: 'predict',
    endpoints: Int32Array.from(top, (r) => r.endpoint),
    scores: Float32Array.from(top, (r) => r.score),
    similarity: Float32Array.from(top, (r) => r.similarity),
    params: top.map((r) => fillParams(pc, r.endpoint, out.resolved)),
    resolved: Int32Array.from(out.resolved, (r) => r.endpoint),
    unmatched: out.unmatched,
    candidatesGenerated: out.candidatesGenerated,
    newPromptEmbedding: fresh,
    modelVersion: model ? model.modelVersion : 'heuristic-v1',
    encoderName: l.encoder.name,
    timings: { embedMs: t2 - t1, rankMs: t3 - t2, totalMs: t3 - t0 },
  };
}

async function runProbe(task: ProbeTask): Promise<ProbeResult> {
  const l = await load();
  refreshModel(l, task.modelStamp);
  return {
    kind: 'probe',
    threadId,
    modelVersion: model ? model.modelVersion : 'heuristic-v1',
    modelLoaded: model !== undefined,
    modelError,
    encoderName: l.encoder.name,
    encoderDim: l.encoder.dim,
    evaluator: model ? 'wasm' : 'heuristic',
  };
}

/** The typed arrays of a result, for Piscina to move instead of copying them. */
function resultBuffers(result: PredictResult): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [result.endpoints.buffer, result.scores.buffer, result.similarity.buffer, result.resolved.buffer] as ArrayBuffer[];
  if (result.newPromptEmbedding) buffers.push(result.newPromptEmbedding.buffer as ArrayBuffer);
  return buffers;
}

/**
 * Release this thread's LMDB read snapshot when a batch is done. lmdb-js resets it from a
 * setTimeout(0), but between tasks a Piscina worker sleeps in Atomics.wait and runs no
 * timers, so the snapshot of its first read stayed pinned for good: the writer could
 * reuse no freed page and data.mdb grew ~20 KB per uncached prediction (~1 GB per 50k),
 * resident memory with it (found by bench/uncached.ts; readerList() showed the pinned
 * txn). Safe: the store hands out copies, nothing here keeps pointers into the map.
 */
function releaseSnapshot(): void {
  try {
    loadedStore?.refresh();
  } catch {
    // Only an optimisation: on failure lmdb-js's own timer still resets it eventually.
  }
}

/**
 * Runs a batch's tasks in order and answers all their results at once (pool/index.ts:
 * one hand-off per batch). A task that throws fails alone; each predict task checks its
 * own deadline when its turn comes.
 */
export default async function handle(batch: WorkerBatch): Promise<unknown> {
  const results: BatchResult = [];
  const buffers: ArrayBuffer[] = [];
  try {
    for (const task of batch.tasks) {
      try {
        const r = await dispatch(task);
        if (r.kind === 'predict') buffers.push(...resultBuffers(r));
        results.push(r);
      } catch (err) {
        results.push({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
      }
    }
  } finally {
    releaseSnapshot();
  }
  return move({ [transferableSymbol]: buffers, [valueSymbol]: results } as never);
}

async function dispatch(task: WorkerTask): Promise<WorkerResult> {
  switch (task.kind) {
    case 'predict':
      if (Date.now() > task.deadline) return { kind: 'expired' };
      return runPredict(task);
    case 'probe':
      return runProbe(task);
    case 'crash':
      if (!cfg.allowCrashTask) throw new Error('crash task is disabled');
      // Simulates a fatal fault in native code or a runaway bug: the thread dies.
      setImmediate(() => process.exit(1));
      return new Promise(() => undefined);
  }
}
