/**
 * Messages between the main thread and the prediction workers — the only contract
 * between server/ and the CPU pipeline. Typed arrays in results are transferred (moved),
 * not copied.
 */
import type { HistoryInput } from '../engine/predictor';

/** Given to every worker at start (Piscina workerData). */
export interface WorkerConfig {
  dataDir: string;
  rankerPath: string;
  embeddingKind: 'word-vectors' | 'bert';
  embeddingModel?: string;
  embeddingVocab?: string;
  /** How many candidates the ranker scores per request (k + buffer is the minimum). */
  candidateLimit: number;
  /** Accept the 'crash' task (tests only). */
  allowCrashTask: boolean;
}

export interface PredictTask {
  kind: 'predict';
  specId: string;
  /** Catalog.hash the main thread knows; a worker holding another version reloads. */
  catalogHash: string;
  /** Bumped by the main thread whenever a new ranker is swapped in. */
  modelStamp: number;
  /**
   * Date.now() after which nobody waits for the answer (the caller got DEADLINE): a
   * worker that picks the task up later skips it and answers `{ kind: 'expired' }`.
   */
  deadline: number;
  /** transitions.version(specId) at submit time; a worker holding an older snapshot refreshes. */
  transitionsVersion: number;
  prompt: string;
  history: HistoryInput[];
  /** Candidates to return (already >= k + buffer). */
  topN: number;
  now: number;
  /** Prompt embedding found in the main thread's cache, if any. */
  promptEmbedding?: Float32Array;
}

export interface CrashTask {
  kind: 'crash';
}

/** Ask a worker which components it has loaded (for /health). */
export interface ProbeTask {
  kind: 'probe';
  /** The pool's model stamp: a probe loads the current ranker, so start-up warms it too. */
  modelStamp: number;
}

export type WorkerTask = PredictTask | CrashTask | ProbeTask;

/** What a worker receives: tasks to run one after another, in this order. */
export interface WorkerBatch {
  kind: 'batch';
  tasks: WorkerTask[];
}

export interface PredictResult {
  kind: 'predict';
  /** Endpoint indexes, best first (length <= topN). */
  endpoints: Int32Array;
  scores: Float32Array;
  similarity: Float32Array;
  /** Path-parameter values filled from the history, per returned endpoint. */
  params: Record<string, string>[];
  /** How each history entry resolved: endpoint index or -1. */
  resolved: Int32Array;
  unmatched: string[];
  candidatesGenerated: number;
  /** Prompt embedding computed here (not from cache), for the main thread to cache. */
  newPromptEmbedding?: Float32Array;
  modelVersion: string;
  encoderName: string;
  timings: { embedMs: number; rankMs: number; totalMs: number };
}

export interface ProbeResult {
  kind: 'probe';
  threadId: number;
  modelVersion: string;
  modelLoaded: boolean;
  modelError?: string;
  encoderName: string;
  encoderDim: number;
  evaluator: 'wasm' | 'heuristic';
}

/** A task skipped because its deadline passed before a worker got to it. */
export interface ExpiredResult {
  kind: 'expired';
}

export type WorkerResult = PredictResult | ProbeResult | ExpiredResult;

/** A task of a batch that threw (the others are not affected): its error message. */
export interface FailedResult {
  kind: 'failed';
  message: string;
}

/** A worker's answer to a WorkerBatch: one result per task, in the same order. */
export type BatchResult = (WorkerResult | FailedResult)[];

/** Why a task failed in the pool (not in the prediction logic). */
export class PoolError extends Error {
  constructor(
    readonly code: 'OVERLOADED' | 'DEADLINE' | 'WORKER_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'PoolError';
  }
}
