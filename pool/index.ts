/**
 * The prediction worker pool (Piscina). The main thread only submits typed tasks; pool
 * failures reject with a PoolError whose code the server maps onto its error catalog:
 *   OVERLOADED     queue full (bounded queue: shed load early)      -> 503
 *   DEADLINE       the task's deadline passed                       -> 504
 *   WORKER_FAILED  the worker died or threw (Piscina replaces it)   -> 500
 */
import path from 'node:path';
import fs from 'node:fs';
import { Piscina } from 'piscina';
import { packageRoot } from '../engine/package-root';
import { PoolError, type PredictResult, type PredictTask, type ProbeResult, type WorkerConfig, type WorkerTask } from './types';

export interface PoolOptions extends WorkerConfig {
  /** Worker threads. */
  size: number;
  /** Tasks that may wait for a thread; beyond it submissions fail with OVERLOADED. */
  maxQueue: number;
  /** Per-task deadline in ms. */
  taskTimeoutMs: number;
}

export interface PoolStats {
  threads: number;
  queueSize: number;
  maxQueue: number;
  completed: number;
  utilization: number;
  failures: number;
  overloads: number;
  timeouts: number;
}

/** The compiled worker: Piscina threads run JavaScript, so tests running from TS sources use dist/. */
function workerFile(): string {
  const here = path.join(__dirname, 'worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.join(packageRoot(), 'dist', 'pool', 'worker.js');
  if (!fs.existsSync(built)) throw new Error(`worker script ${built} is missing: run "npm run build" first`);
  return built;
}

export class PredictionPool {
  private readonly piscina: Piscina;
  private modelStamp = 0;
  private failures = 0;
  private overloads = 0;
  private timeouts = 0;

  constructor(private readonly opts: PoolOptions) {
    const workerConfig: WorkerConfig = {
      dataDir: opts.dataDir,
      rankerPath: opts.rankerPath,
      embeddingKind: opts.embeddingKind,
      embeddingModel: opts.embeddingModel,
      embeddingVocab: opts.embeddingVocab,
      candidateLimit: opts.candidateLimit,
      allowCrashTask: opts.allowCrashTask,
    };
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: opts.size,
      maxThreads: opts.size,
      maxQueue: opts.maxQueue,
      // Threads hold warm catalogs and models; never let them idle out.
      idleTimeout: 2 ** 31 - 1,
      workerData: workerConfig,
      // Workers run compiled JS; loaders the parent was started with (a test runner's
      // TypeScript or coverage hooks) are not wanted inside them.
      execArgv: [],
    });
    // A dying worker also emits 'error' on the pool; the task's own promise carries the failure.
    this.piscina.on('error', () => undefined);
  }

  /** Stamp that tells workers to reload the ranker file on their next task. */
  get currentModelStamp(): number {
    return this.modelStamp;
  }

  reloadModel(): void {
    this.modelStamp++;
  }

  predict(task: Omit<PredictTask, 'kind' | 'modelStamp'>): Promise<PredictResult> {
    const full: PredictTask = { kind: 'predict', modelStamp: this.modelStamp, ...task };
    const transferList = task.promptEmbedding ? [task.promptEmbedding.buffer as ArrayBuffer] : undefined;
    return this.run(full, transferList) as Promise<PredictResult>;
  }

  /**
   * What one worker has loaded (model, encoder) — for /health and the start-up warm-up.
   * No deadline: aborting a running Piscina task terminates its thread, so a probe timing
   * out while a worker still loads its encoder (seconds on a busy machine) killed that
   * worker, the next probe waited for a fresh one, and start-up never converged (seen at
   * 20-40 s with /health polled). Callers needing an answer in time race it (health.ts).
   */
  probe(): Promise<ProbeResult> {
    return this.run({ kind: 'probe', modelStamp: this.modelStamp }, undefined, false) as Promise<ProbeResult>;
  }

  /** Tests only (allowCrashTask): kill the thread that takes this task. */
  crashOne(): Promise<unknown> {
    return this.run({ kind: 'crash' });
  }

  private async run(task: WorkerTask, transferList?: ArrayBuffer[], deadline = true): Promise<unknown> {
    if (this.piscina.queueSize >= this.opts.maxQueue && this.piscina.idleThreads === 0) {
      this.overloads++;
      throw new PoolError('OVERLOADED', 'task queue is full');
    }
    const signal = deadline ? AbortSignal.timeout(this.opts.taskTimeoutMs) : undefined;
    try {
      return await this.piscina.run(task, { signal, transferList });
    } catch (err) {
      const e = err as Error;
      if (signal?.aborted || e.name === 'AbortError') {
        this.timeouts++;
        throw new PoolError('DEADLINE', `task exceeded ${this.opts.taskTimeoutMs} ms`);
      }
      if (/queue is at limit/i.test(e.message)) {
        this.overloads++;
        throw new PoolError('OVERLOADED', 'task queue is full');
      }
      this.failures++;
      throw new PoolError('WORKER_FAILED', e.message);
    }
  }

  stats(): PoolStats {
    return {
      threads: this.piscina.threads.length,
      queueSize: this.piscina.queueSize,
      maxQueue: this.opts.maxQueue,
      completed: this.piscina.completed,
      utilization: this.piscina.utilization,
      failures: this.failures,
      overloads: this.overloads,
      timeouts: this.timeouts,
    };
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
