/**
 * Entry of a background job's child process (forked by server/jobs.ts from
 * dist/training/job-worker.js). Training and data generation are CPU-heavy for seconds to
 * minutes; in their own process they never block the server's event loop, the OS can
 * run them at a lower priority than the prediction workers, and a crash or an
 * out-of-memory kill takes down only the job.
 *
 *   server  --JobRequest-->  child: runTraining / generateData
 *   server  <--JobMessage--  { progress }* then { done } | { failed }, then the child exits
 *
 * These two types are the whole contract between the server and the job process.
 */
import type { LambdaMartParams } from './lambdamart';

export interface TrainJobOptions {
  count: number;
  seed: number;
  directorySample: number;
  fromFeedback: boolean;
  /** Server's LMDB dir; read read-only for --from-feedback. */
  dataDir: string;
  /** Where the model is written (the server validates it before swapping it in). */
  out: string;
  /** Where the training report is written. */
  report: string;
  params: Partial<LambdaMartParams>;
}

export interface GenerateJobOptions {
  count: number;
  seed: number;
  directorySample: number;
  out: string;
}

export type JobRequest = { kind: 'train'; options: TrainJobOptions } | { kind: 'generate-data'; options: GenerateJobOptions };

export type JobMessage =
  | { type: 'progress'; fraction: number; stage: string }
  | { type: 'done'; result: Record<string, unknown> }
  | { type: 'failed'; message: string };

/** Progress messages are throttled to this interval unless the stage changes. */
const PROGRESS_INTERVAL_MS = 100;

function send(msg: JobMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      resolve();
      return;
    }
    process.send(msg, undefined, {}, () => resolve());
  });
}

function progressReporter(): (fraction: number, stage: string) => void {
  let lastAt = 0;
  let lastStage = '';
  let lastFraction = -1;
  return (fraction, stage) => {
    const now = Date.now();
    const f = Math.min(1, Math.max(0, fraction));
    if (stage === lastStage && now - lastAt < PROGRESS_INTERVAL_MS) return;
    if (stage === lastStage && f <= lastFraction) return;
    lastAt = now;
    lastStage = stage;
    lastFraction = f;
    void send({ type: 'progress', fraction: f, stage });
  };
}

async function run(req: JobRequest): Promise<Record<string, unknown>> {
  const onStage = progressReporter();
  if (req.kind === 'train') {
    // Loaded lazily: the message types above must stay importable without the trainer.
    const { runTraining } = await import('./train');
    const o = req.options;
    return runTraining({ ...o, quiet: true, onStage });
  }
  const { generateData } = await import('./generate-data');
  const result = await generateData({ ...req.options, quiet: true, onStage });
  return { ...result };
}

if (require.main === module) {
  // The server went away (crash, kill): nobody will read the result.
  process.on('disconnect', () => process.exit(1));
  process.once('message', (req: JobRequest) => {
    run(req).then(
      async (result) => {
        await send({ type: 'done', result });
        process.exit(0);
      },
      async (err) => {
        await send({ type: 'failed', message: (err as Error)?.message ?? String(err) });
        process.exit(1);
      },
    );
  });
}
