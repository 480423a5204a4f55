/**
 * Background-job routes: POST /train, POST /generate-data (202 + the queued job, or 409
 * JOB_ALREADY_RUNNING naming the running one), GET /jobs (newest first) and GET /jobs/:id.
 * The work itself happens in server/jobs.ts, outside the request path.
 */
import Ajv from 'ajv';
import type { ServerContext } from '../app';
import { Errors } from '../errors';
import { jobRunnerFor, type GenerateParams, type JobView, type TrainParams } from '../jobs';
import { check } from '../schemas';
import type { HttpReply, HttpRequest } from '../uws-adapter';
import { jsonBody } from './common';

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });

/** Shared bounds; `count` is workflows to generate. */
const common = {
  count: { type: 'integer', minimum: 10, maximum: 100_000 },
  seed: { type: 'integer', minimum: 0, maximum: 2_147_483_647 },
  directory_sample: { type: 'integer', minimum: 0, maximum: 5_000 },
} as const;

const validateTrain = ajv.compile<TrainParams>({
  type: 'object',
  additionalProperties: false,
  properties: {
    ...common,
    from_feedback: { type: 'boolean' },
    n_estimators: { type: 'integer', minimum: 1, maximum: 2_000 },
    num_leaves: { type: 'integer', minimum: 2, maximum: 1_024 },
    learning_rate: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  },
});

const validateGenerate = ajv.compile<GenerateParams>({
  type: 'object',
  additionalProperties: false,
  properties: { ...common, count: { type: 'integer', minimum: 1, maximum: 100_000 } },
});

/** Most jobs GET /jobs lists. */
const MAX_LIST = 100;

/** Both job routes accept no body at all (all defaults); any body present must be JSON. */
function optionalJson(req: HttpRequest): unknown {
  if (!req.body || req.body.length === 0) return {};
  return jsonBody(req);
}

function accepted(job: JobView): HttpReply {
  return { status: 202, body: { job_id: job.id, ...job, links: { self: `/jobs/${job.id}` } }, headers: { Location: `/jobs/${job.id}` } };
}

export function registerJobRoutes(ctx: ServerContext): void {
  const { http } = ctx;
  const runner = jobRunnerFor(ctx);

  http.route('post', '/train', async (req) => accepted(await runner.start('train', check(validateTrain, optionalJson(req)))), { body: true });

  http.route('post', '/generate-data', async (req) => accepted(await runner.start('generate-data', check(validateGenerate, optionalJson(req)))), { body: true });

  http.route('get', '/jobs', (req) => {
    const raw = new URLSearchParams(req.query).get('limit');
    let limit = 20;
    if (raw !== null) {
      limit = Number(raw);
      if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIST) throw Errors.validation(`limit must be an integer in [1, ${MAX_LIST}]`);
    }
    return { status: 200, body: { jobs: runner.list(limit), active_job: runner.activeId ?? null } };
  });

  http.route('get', '/jobs/:id', (req) => {
    const id = req.params[0] ?? '';
    const job = runner.get(id);
    if (!job) throw Errors.jobNotFound(id.slice(0, 64));
    return { status: 200, body: job };
  });
}
