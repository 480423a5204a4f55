/**
 * The prediction worker pool (Piscina). The main thread only submits typed tasks; pool
 * failures reject with a PoolError whose code the server maps onto its error catalog:
 *   OVERLOADED     queue full (bounded queue: shed load early)      -> 503
 *   DEADLINE       the task's deadline passed                       -> 504
 *   WORKER_FAILED  the worker died or threw (Piscina replaces it)   -> 500
 *
 * Tasks wait in a first-come-first-served gate and go to a free worker in batches: its
 * share of what waited (all of it with one worker, half with two), up to batchSize, as
 * one Piscina task that the worker runs in order (see `dispatch`).
 *
 * Deadlines are soft: at the deadline the caller gets DEADLINE at once, a task whose
 * deadline passed while it waited is not sent, and a worker that reaches a task whose
 * deadline has passed skips it (task.deadline), so an expired task costs no work and no
 * thread. Only a task still running long after its deadline
 * (HARD_DEADLINE_*) is aborted, which makes Piscina terminate and replace its thread —
 * the one way out of a runaway task. (Aborting at the soft deadline, as before, killed
 * the thread for any slow task, e.g. one preparing a large catalog, together with the
 * tasks queued on it, and the replacement thread then reloaded its encoder.)
 */
import path from 'node:path';
import fs from 'node:fs';
import { Piscina } from 'piscina';
import { packageRoot } from '../engine/package-root';
import { PoolError, type BatchResult, type ExpiredResult, type PredictResult, type PredictTask, type ProbeResult, type WorkerBatch, type WorkerConfig, type WorkerTask } from './types';

export interface PoolOptions extends WorkerConfig {
  /** Worker threads. */
  size: number;
  /**
   * Batches handed to one worker at a time (Piscina concurrentTasksPerWorker). Default
   * DEFAULT_TASKS_PER_WORKER.
   */
  tasksPerWorker?: number;
  /**
   * Most tasks sent to a worker as one batch. Default DEFAULT_BATCH_SIZE; 1 sends every
   * task on its own.
   */
  batchSize?: number;
  /** Tasks that may wait for a thread; beyond it submissions fail with OVERLOADED. */
  maxQueue: number;
  /** Per-task deadline in ms. */
  taskTimeoutMs: number;
}

export interface PoolStats {
  threads: number;
  queueSize: number;
  maxQueue: number;
  /** Tasks a worker answered. */
  completed: number;
  /** Batches sent to workers (each carries one or more tasks). */
  batches: number;
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

/**
 * See PoolOptions.tasksPerWorker. One: with several tasks handed to a worker at once, a
 * task could wait inside the worker for up to a second while later ones ran (measured
 * under saturation: 4 per worker gave 0.6-1 s stalls, 1 gave none); the FIFO gate in
 * front of Piscina (see `waiting`) keeps the order.
 */
export const DEFAULT_TASKS_PER_WORKER = 1;
/**
 * See PoolOptions.batchSize. Sending one task per hand-off left the worker idle between
 * tasks — it posts a result, then waits for the main thread's event loop to receive it
 * and send the next — 15-25 % of the time under saturation; batches brought that to
 * 3-5 % and halved the main thread's CPU per request (fewer Piscina round trips), see
 * bench/thread-cpu.ts. The cap bounds what the first task of a batch waits for the rest
 * (its result comes back with theirs): 16 tasks of ~0.5 ms.
 */
export const DEFAULT_BATCH_SIZE = 16;
/**
 * Young generation of each worker's heap, MB. V8's default lets it grow to 48 MB under a
 * high allocation rate, and what a prediction allocates dies within the task: a smaller
 * one is collected more often but quickly, and keeps tens of MB out of the resident set.
 */
export const WORKER_YOUNG_GENERATION_MB = 12;
/** A task still running this long after its deadline has its thread terminated. */
export const HARD_DEADLINE_MIN_MS = 10_000;
export const HARD_DEADLINE_FACTOR = 5;

/**
 * The abort signal Piscina sees for one batch: fired when a task of the batch reaches
 * its hard deadline. AbortSignal.timeout cost a timer, a weak reference and a
 * DOMException per task (~5 % of the main thread's CPU under uncached load).
 */
class BatchSignal {
  aborted = false;
  reason: unknown;
  private listener: (() => void) | undefined;
  addEventListener(_type: 'abort', fn: () => void): void {
    this.listener = fn;
  }
  removeEventListener(_type: 'abort', fn: () => void): void {
    if (this.listener === fn) this.listener = undefined;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new Error('task ran far past its deadline');
    const fn = this.listener;
    this.listener = undefined;
    fn?.();
  }
}

/**
 * One task's deadlines. Every task has the same timeout, so deadlines fall due in
 * submission order and one re-armed timer serves all (DeadlineQueue).
 */
class TaskDeadline {
  aborted = false;
  settled = false;
  /** Called at the soft deadline unless settled. */
  onExpire: (() => void) | undefined;
  /** The batch the task went out in, once sent. */
  signal: BatchSignal | undefined;
  constructor(readonly soft: number, readonly hard: number) {}
  /** At the hard deadline: abort the task's batch (Piscina then replaces the thread). */
  abort(): void {
    if (this.aborted || this.settled) return;
    this.aborted = true;
    this.signal?.abort();
  }
}

/** A task at the gate: what to send, and its caller's side. */
interface Entry {
  task: WorkerTask;
  transferList: ArrayBuffer[] | undefined;
  deadline: TaskDeadline | undefined;
  /** The caller has its answer (a result, or DEADLINE at the soft deadline). */
  done: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** A FIFO of deadlines that all lie the same offset after their submission, with one timer. */
class DeadlineQueue {
  private queue: TaskDeadline[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly due: (d: TaskDeadline) => number,
    private readonly fire: (d: TaskDeadline) => void,
  ) {}

  push(d: TaskDeadline): void {
    this.queue.push(d);
    if (!this.timer) this.arm();
  }

  private arm(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.settled) this.head++;
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.timer = undefined;
      return;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const wait = Math.max(0, this.due(this.queue[this.head]!) - performance.now());
    this.timer = setTimeout(() => this.expire(), Math.ceil(wait));
    this.timer.unref();
  }

  private expire(): void {
    const now = performance.now();
    while (this.head < this.queue.length) {
      const d = this.queue[this.head]!;
      if (!d.settled && this.due(d) > now) break;
      this.head++;
      if (!d.settled) this.fire(d);
    }
    this.arm();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
  }
}

export class PredictionPool {
  private readonly piscina: Piscina;
  private modelStamp = 0;
  private completed = 0;
  private batches = 0;
  private failures = 0;
  private overloads = 0;
  private timeouts = 0;
  private readonly soft = new DeadlineQueue((d) => d.soft, (d) => {
    d.onExpire?.();
    this.hard.push(d);
  });
  private readonly hard = new DeadlineQueue((d) => d.hard, (d) => d.abort());

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
      concurrentTasksPerWorker: opts.tasksPerWorker ?? DEFAULT_TASKS_PER_WORKER,
      workerData: workerConfig,
      // Workers run compiled JS; loaders the parent was started with (a test runner's
      // TypeScript or coverage hooks) are not wanted inside them.
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
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

  predict(task: Omit<PredictTask, 'kind' | 'modelStamp' | 'deadline'>): Promise<PredictResult> {
    const full: PredictTask = { kind: 'predict', modelStamp: this.modelStamp, deadline: Date.now() + this.opts.taskTimeoutMs, ...task };
    const transferList = task.promptEmbedding ? [task.promptEmbedding.buffer as ArrayBuffer] : undefined;
    return (this.run(full, transferList) as Promise<PredictResult | ExpiredResult>).then((r) => {
      // The worker's clock said the deadline passed a moment before our timer did.
      if (r.kind === 'expired') {
        this.timeouts++;
        throw new PoolError('DEADLINE', `task exceeded ${this.opts.taskTimeoutMs} ms`);
      }
      return r;
    });
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

  /**
   * Tasks wait here, in submission order, until a worker slot is free; Piscina only ever
   * sees as many batches as its workers take at once. Piscina hands a task straight to a
   * worker with a free slot even while older tasks wait in its own queue, so under
   * saturation a new task could overtake queued ones again and again: requests that had
   * 29 tasks ahead of them waited up to a second for a worker doing 0.7 ms tasks.
   */
  private readonly waiting: Entry[] = [];
  private running = 0;

  private get slots(): number {
    return this.opts.size * (this.opts.tasksPerWorker ?? DEFAULT_TASKS_PER_WORKER);
  }

  private run(task: WorkerTask, transferList?: ArrayBuffer[], deadline = true): Promise<unknown> {
    if (this.waiting.length >= this.opts.maxQueue) {
      this.overloads++;
      return Promise.reject(new PoolError('OVERLOADED', 'task queue is full'));
    }
    return new Promise((resolve, reject) => {
      const e: Entry = { task, transferList, deadline: undefined, done: false, resolve, reject };
      if (deadline) {
        const now = performance.now();
        const timeout = this.opts.taskTimeoutMs;
        const d = (e.deadline = new TaskDeadline(now + timeout, now + timeout + Math.max(HARD_DEADLINE_MIN_MS, HARD_DEADLINE_FACTOR * timeout)));
        d.onExpire = () => {
          if (e.done) return;
          e.done = true;
          this.timeouts++;
          reject(new PoolError('DEADLINE', `task exceeded ${timeout} ms`));
        };
        this.soft.push(d);
      }
      this.waiting.push(e);
      this.dispatch();
    });
  }

  /** Sends what waits, oldest first, while a slot is free. */
  private dispatch(): void {
    while (this.running < this.slots && this.waiting.length > 0) {
      const batch: Entry[] = [];
      // A backlog is shared among all the workers rather than handed whole to the first
      // one free: after a stall, ten waiting tasks go out as five now and five when the
      // next worker frees up, not as one batch of ten while the other worker finishes
      // its single task and idles (a batch's results all come back when its last task
      // ends, so its size is its first task's extra wait).
      const max = Math.min(this.opts.batchSize ?? DEFAULT_BATCH_SIZE, Math.ceil(this.waiting.length / this.slots));
      while (batch.length < max && this.waiting.length > 0) {
        const e = this.waiting.shift()!;
        // A task whose deadline passed while it waited is not sent at all.
        if (e.done) this.settle(e, undefined, undefined);
        else batch.push(e);
      }
      if (batch.length > 0) this.send(batch);
    }
  }

  /** Runs one batch on a worker; each caller is answered with its own result. */
  private send(batch: Entry[]): void {
    this.running++;
    this.batches++;
    const signal = new BatchSignal();
    const transferList: ArrayBuffer[] = [];
    for (const e of batch) {
      if (e.deadline) e.deadline.signal = signal;
      if (e.transferList) transferList.push(...e.transferList);
    }
    const message: WorkerBatch = { kind: 'batch', tasks: batch.map((e) => e.task) };
    let p: Promise<BatchResult>;
    try {
      p = this.piscina.run(message, { signal: signal as never, transferList });
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (results) => {
        this.completed += results.length;
        batch.forEach((e, i) => {
          const r = results[i]!;
          if (r.kind === 'failed') this.settle(e, undefined, new Error(r.message));
          else this.settle(e, r, undefined);
        });
      },
      (err: unknown) => batch.forEach((e) => this.settle(e, undefined, err)),
    ).finally(() => {
      this.running--;
      this.dispatch();
    });
  }

  /** Answers a task's caller, unless it had DEADLINE already (then the result is dropped). */
  private settle(e: Entry, value: unknown, err: unknown): void {
    const d = e.deadline;
    if (d) {
      // The deadline stays queued until its time comes (taskTimeoutMs); what it refers
      // to must not. Its closure reaches the caller's promise and so the whole result,
      // which then outlived every scavenge and died in the old generation: ~2 s of
      // results at the request rate, and a major GC every second under load.
      d.settled = true;
      d.onExpire = undefined;
      d.signal = undefined;
    }
    if (e.done) return;
    e.done = true;
    if (err === undefined) return e.resolve(value);
    try {
      this.mapError(err, e.deadline);
    } catch (mapped) {
      e.reject(mapped);
    }
  }

  private mapError(err: unknown, d: TaskDeadline | undefined): never {
    const e = err as Error;
    if (d?.aborted || e.name === 'AbortError') {
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

  stats(): PoolStats {
    return {
      threads: this.piscina.threads.length,
      queueSize: this.waiting.length + this.piscina.queueSize,
      maxQueue: this.opts.maxQueue,
      completed: this.completed,
      batches: this.batches,
      utilization: this.piscina.utilization,
      failures: this.failures,
      overloads: this.overloads,
      timeouts: this.timeouts,
    };
  }

  async close(): Promise<void> {
    this.soft.clear();
    this.hard.clear();
    await this.piscina.close();
  }
}
