/**
 * Background jobs (POST /train, POST /generate-data): one at a time, each in a child
 * process (training/job-worker.ts) so the CPU work never runs on the server's event loop.
 * The child posts progress; every change is written to the LMDB `jobs` database, so
 * GET /jobs/:id answers during the run and after a restart.
 *
 *   queued --fork--> running --{done}--> [train: validate + swap model] --> succeeded
 *                       |                           |
 *                       +--{failed} | exit ---------+--> failed (message says why)
 *
 * A model swap is atomic for the workers: the trainer writes `<rankerPath>.tmp`, the main
 * thread validates it with the same checks the workers apply, renames it over rankerPath
 * and bumps the pool's model stamp; each worker reloads on its next task. A refused file
 * is never renamed, so the previous model keeps serving.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRankerModelFile, type RankerModel } from '../core-wasm/model';
import { FEATURE_NAMES } from '../engine/features';
import { packageRoot } from '../engine/package-root';
import type { JobRecord } from '../store';
import type { JobMessage, JobRequest } from '../training/job-worker';
import type { ServerContext } from './app';
import { Errors } from './errors';

export type JobKind = 'train' | 'generate-data';

/** POST /train body (validated by the route). */
export interface TrainParams {
  count?: number;
  seed?: number;
  directory_sample?: number;
  from_feedback?: boolean;
  n_estimators?: number;
  num_leaves?: number;
  learning_rate?: number;
}

/** POST /generate-data body (validated by the route). */
export interface GenerateParams {
  count?: number;
  seed?: number;
  directory_sample?: number;
}

/** What the jobs database holds: the store's record plus job details (kept by the store as-is). */
interface StoredJob extends JobRecord {
  kind: JobKind;
  stage: string;
  /** Effective parameters (request merged over defaults). */
  params: Record<string, unknown>;
  startedAt?: number;
  finishedAt?: number;
}

/** A job as the API returns it. */
export interface JobView {
  id: string;
  kind: string;
  status: JobRecord['status'];
  progress: number;
  stage: string;
  params: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  result?: unknown;
  error?: string;
}

export type JobDeps = Pick<ServerContext, 'config' | 'store' | 'pool' | 'predictor' | 'logger'>;

/** Defaults of a job run from the API: the same as `npm run train` / `npm run generate-data`. */
export const JOB_DEFAULTS = Object.freeze({ count: 10_000, seed: 42, directory_sample: 150 });
/** Nice value of job processes: predictions keep priority over training on a busy machine. */
const JOB_NICE = 10;
/** Grace period between SIGTERM and SIGKILL when the server shuts down during a job. */
const KILL_GRACE_MS = 3_000;
/** Share of a train job's progress bar that the training run itself takes; the swap gets the rest. */
const TRAIN_SHARE = 0.95;
/** Keep the end of a dying child's stderr for the failure message. */
const STDERR_TAIL = 2_000;

/** Workers and jobs run compiled JS; tests running from TS sources use dist/ (as pool/index.ts). */
function jobWorkerFile(): string {
  const here = path.join(__dirname, '..', 'training', 'job-worker.js');
  if (fs.existsSync(here)) return here;
  const built = path.join(packageRoot(), 'dist', 'training', 'job-worker.js');
  if (!fs.existsSync(built)) throw new Error(`job worker ${built} is missing: run "npm run build" first`);
  return built;
}

export class ModelRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelRefusedError';
  }
}

/**
 * Validate `candidate` as a ranker file, rename it over config.rankerPath and make the
 * workers and the prediction cache use it. Rejects with ModelRefusedError (and changes
 * nothing) when the file is not a valid model for this server's features.
 */
export async function swapModel(deps: JobDeps, candidate: string): Promise<RankerModel> {
  let model: RankerModel;
  try {
    model = loadRankerModelFile(candidate, FEATURE_NAMES);
  } catch (err) {
    throw new ModelRefusedError(`new model refused: ${(err as Error).message}`);
  }
  // rename(2) is atomic on one filesystem: a worker reads either the old file or the new one.
  fs.renameSync(candidate, deps.config.rankerPath);
  deps.pool.reloadModel();
  // The prediction cache is keyed on the model version: tell the service now, or cache
  // hits made under the old model would keep being served until the next miss.
  const probe = await deps.pool.probe().catch(() => undefined);
  deps.predictor.noteWorkerInfo({ modelVersion: model.modelVersion, encoderName: probe?.encoderName ?? '' });
  return model;
}

interface ActiveJob {
  rec: StoredJob;
  child?: ChildProcess;
  /** Resolves once the final record is written. */
  settled: Promise<void>;
}

export class JobRunner {
  private active: ActiveJob | undefined;
  /**
   * Final records (finished jobs, jobs marked interrupted at start) whose LMDB write has
   * not committed yet: reads see them here first, so a job never looks running again
   * after it was reported final, and the runner is free the moment it is.
   */
  private readonly finals = new Map<string, StoredJob>();
  private closing = false;

  constructor(private readonly deps: JobDeps) {}

  /** Jobs left queued/running by a previous process can never finish: mark them failed. */
  async recoverInterrupted(): Promise<number> {
    const now = Date.now();
    const stale = this.deps.store.jobs.list().filter((j) => j.status === 'queued' || j.status === 'running');
    await Promise.all(
      stale.map((j) => this.saveFinal({ ...(j as StoredJob), status: 'failed', stage: 'failed', message: 'interrupted: the server stopped while the job was running', finishedAt: now })),
    );
    return stale.length;
  }

  /** The running job's id, if any. */
  get activeId(): string | undefined {
    return this.active?.rec.id;
  }

  get(id: string): JobView | undefined {
    if (this.active?.rec.id === id) return toView(this.active.rec);
    const rec = this.finals.get(id) ?? this.deps.store.jobs.get(id);
    return rec ? toView(rec as StoredJob) : undefined;
  }

  /** Newest first. */
  list(limit: number): JobView[] {
    return this.deps.store.jobs.list().slice(0, limit).map((r) => {
      if (this.active?.rec.id === r.id) return toView(this.active.rec);
      return toView((this.finals.get(r.id) ?? r) as StoredJob);
    });
  }

  /** Start a job; rejects with JOB_ALREADY_RUNNING (409) while another one runs. */
  start(kind: 'train', params: TrainParams): Promise<JobView>;
  start(kind: 'generate-data', params: GenerateParams): Promise<JobView>;
  async start(kind: JobKind, params: TrainParams | GenerateParams): Promise<JobView> {
    if (this.closing) throw Errors.notReady('the server is shutting down');
    if (this.active) throw Errors.jobConflict(this.active.rec.id);
    const now = Date.now();
    const id = randomBytes(6).toString('hex');
    const effective = { ...JOB_DEFAULTS, ...(kind === 'train' ? { from_feedback: false } : {}), ...params };
    const rec: StoredJob = { id, kind, status: 'queued', progress: 0, stage: 'queued', params: effective, createdAt: now, updatedAt: now };
    // Claimed synchronously, before any await, so two concurrent requests cannot both start.
    const active: ActiveJob = { rec, settled: Promise.resolve() };
    this.active = active;
    try {
      await this.save(rec);
      // close() may have run during the write; the queued record is marked interrupted at next start.
      if (this.closing) throw Errors.notReady('the server is shutting down');
      active.settled = this.launch(active, this.request(kind, id, effective));
    } catch (err) {
      this.active = undefined;
      throw err;
    }
    return toView(rec);
  }

  /** Stop a running job (server shutdown) and wait for its record to be final. */
  async close(): Promise<void> {
    this.closing = true;
    const a = this.active;
    if (!a) return;
    if (a.child && a.child.exitCode === null && a.child.signalCode === null) {
      a.child.kill('SIGTERM');
      const t = setTimeout(() => a.child?.kill('SIGKILL'), KILL_GRACE_MS);
      t.unref();
      await a.settled;
      clearTimeout(t);
      return;
    }
    await a.settled;
  }

  private request(kind: JobKind, id: string, p: Record<string, unknown>): JobRequest {
    const { config } = this.deps;
    const base = { count: p.count as number, seed: p.seed as number, directorySample: p.directory_sample as number };
    if (kind === 'generate-data') {
      return { kind, options: { ...base, out: path.join(config.dataDir, 'generated', `${id}.jsonl`) } };
    }
    const params: Record<string, number> = {};
    for (const k of ['n_estimators', 'num_leaves', 'learning_rate'] as const) if (typeof p[k] === 'number') params[k] = p[k] as number;
    return {
      kind,
      options: {
        ...base,
        fromFeedback: p.from_feedback === true,
        dataDir: config.dataDir,
        out: `${config.rankerPath}.tmp`,
        report: path.join(config.dataDir, 'jobs', `${id}-training-report.json`),
        params,
      },
    };
  }

  /** Fork the job process; resolves when the job's final record is written. */
  private launch(active: ActiveJob, req: JobRequest): Promise<void> {
    const rec = active.rec;
    return new Promise<void>((resolve) => {
      let finished = false;
      let stderr = '';
      const finish = (work: () => Promise<void>): void => {
        if (finished) return;
        finished = true;
        void work()
          .catch((err) => this.deps.logger.error({ job: rec.id, err: String(err) }, 'job record could not be written'))
          .finally(() => {
            if (this.active === active) this.active = undefined;
            resolve();
          });
      };
      let child: ChildProcess;
      try {
        fs.mkdirSync(path.join(this.deps.config.dataDir, 'jobs'), { recursive: true });
        child = fork(jobWorkerFile(), [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      } catch (err) {
        finish(() => this.fail(rec, `job process could not start: ${(err as Error).message}`));
        return;
      }
      active.child = child;
      if (child.pid !== undefined) {
        try {
          os.setPriority(child.pid, JOB_NICE);
        } catch {
          // Not permitted in some containers; the job still runs, at normal priority.
        }
      }
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-STDERR_TAIL);
      });
      child.on('message', (m: JobMessage) => {
        if (finished) return;
        if (m.type === 'progress') this.progress(rec, m.fraction, m.stage);
        else if (m.type === 'done') finish(() => this.succeed(rec, m.result));
        else finish(() => this.fail(rec, m.message));
      });
      child.on('error', (err) => finish(() => this.fail(rec, `job process failed: ${err.message}`)));
      // 'close' comes after the IPC channel and stderr are drained, so a result sent just
      // before exit has been seen by then.
      child.on('close', (code, signal) => {
        const why = this.closing ? 'interrupted: the server shut down' : `job process exited (${signal ?? `code ${code}`})`;
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        finish(() => this.fail(rec, tail && !this.closing ? `${why}: ${tail}` : why));
      });
      rec.status = 'running';
      rec.stage = 'starting';
      rec.startedAt = Date.now();
      void this.save(rec).catch(() => undefined);
      child.send(req);
    });
  }

  private progress(rec: StoredJob, fraction: number, stage: string): void {
    const f = rec.kind === 'train' ? fraction * TRAIN_SHARE : fraction;
    rec.progress = Math.max(rec.progress, Math.min(1, f));
    // The trainer's last stage is "done", but a train job still has the swap ahead of it.
    rec.stage = rec.kind === 'train' && stage === 'done' ? 'model written' : stage;
    void this.save(rec).catch((err) => this.deps.logger.warn({ job: rec.id, err: String(err) }, 'job progress not saved'));
  }

  private async succeed(rec: StoredJob, result: Record<string, unknown>): Promise<void> {
    let out: Record<string, unknown> = result;
    if (rec.kind === 'train') {
      const tmp = `${this.deps.config.rankerPath}.tmp`;
      rec.stage = 'validating model';
      rec.progress = Math.max(rec.progress, TRAIN_SHARE);
      await this.save(rec);
      const previous = this.deps.predictor.currentModelVersion;
      try {
        const model = await swapModel(this.deps, tmp);
        out = trainResult(result, model, previous, this.deps.config.rankerPath, rec.id, this.deps.config.dataDir);
      } catch (err) {
        await this.fail(rec, (err as Error).message);
        return;
      }
      this.deps.logger.info({ job: rec.id, model_version: out.model_version, previous }, 'ranker swapped in');
    }
    Object.assign(rec, { status: 'succeeded', progress: 1, stage: 'done', result: out, finishedAt: Date.now(), message: undefined });
    await this.saveFinal(rec);
  }

  private async fail(rec: StoredJob, message: string): Promise<void> {
    if (rec.kind === 'train') removeQuietly(`${this.deps.config.rankerPath}.tmp`);
    Object.assign(rec, { status: 'failed', stage: 'failed', message, finishedAt: Date.now() });
    this.deps.logger.warn({ job: rec.id, kind: rec.kind, reason: message }, 'job failed');
    await this.saveFinal(rec);
  }

  /** Write a final record: free the runner now, serve the record from memory until it commits. */
  private async saveFinal(rec: StoredJob): Promise<void> {
    const snapshot = { ...rec };
    this.finals.set(rec.id, snapshot);
    if (this.active?.rec.id === rec.id) this.active = undefined;
    try {
      await this.save(snapshot);
    } finally {
      if (this.finals.get(rec.id) === snapshot) this.finals.delete(rec.id);
    }
  }

  private save(rec: StoredJob): Promise<void> {
    rec.updatedAt = Date.now();
    const snapshot: StoredJob = { ...rec };
    if (snapshot.message === undefined) delete snapshot.message;
    return this.deps.store.jobs.put(rec.id, snapshot);
  }
}

function trainResult(report: Record<string, unknown>, model: RankerModel, previous: string, rankerPath: string, id: string, dataDir: string): Record<string, unknown> {
  const metrics = (report.metrics ?? {}) as Record<string, unknown>;
  const params = (report.params ?? {}) as Record<string, unknown>;
  return {
    model_version: model.modelVersion,
    previous_model_version: previous,
    ranker_path: rankerPath,
    report_path: path.join(dataDir, 'jobs', `${id}-training-report.json`),
    ndcg_at: params.ndcg_at,
    metrics,
    workflows: report.workflows,
    feedback_workflows: report.feedback_workflows,
    specs: report.specs,
    dataset: report.dataset,
    training_duration_ms: report.total_duration_ms,
  };
}

/** Best-effort clean-up of a job's leftovers; a failure here must not hide the job's own error. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // e.g. a directory in the way; the next job reports that itself.
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function toView(r: StoredJob): JobView {
  const view: JobView = {
    id: r.id,
    kind: r.kind,
    status: r.status,
    progress: Math.round(r.progress * 10_000) / 10_000,
    stage: r.stage ?? r.status,
    params: r.params ?? {},
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.startedAt !== undefined && r.finishedAt !== undefined ? r.finishedAt - r.startedAt : null,
  };
  if (r.result !== undefined) view.result = r.result;
  if (r.status === 'failed' && r.message) view.error = r.message;
  return view;
}

const runners = new WeakMap<ServerContext, JobRunner>();

/** The server's job runner (created on first use; it marks interrupted jobs failed). */
export function jobRunnerFor(ctx: ServerContext): JobRunner {
  let r = runners.get(ctx);
  if (!r) {
    r = new JobRunner(ctx);
    runners.set(ctx, r);
    const runner = r;
    void runner.recoverInterrupted().then(
      (n) => n > 0 && ctx.logger.warn({ jobs: n }, 'jobs interrupted by the last shutdown marked failed'),
      (err) => ctx.logger.error({ err: String(err) }, 'could not mark interrupted jobs'),
    );
  }
  return r;
}

/** Graceful shutdown: stop a running job and write its final record (before the store closes). */
export async function closeJobs(ctx: ServerContext): Promise<void> {
  await runners.get(ctx)?.close();
}
