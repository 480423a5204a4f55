/**
 * The error catalog: every error the service returns, with its stable code, HTTP status
 * and message. Handlers throw `ApiError`s made here; `toErrorBody` is the only place that
 * turns an error into a response body.
 */

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After for 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Maker<A extends unknown[]> = (...args: A) => ApiError;

function define<A extends unknown[]>(code: string, status: number, message: (...args: A) => string): Maker<A> & { code: string; status: number } {
  const make = (...args: A) => new ApiError(code, status, message(...args));
  return Object.assign(make, { code, status });
}

export const Errors = {
  badJson: define('INVALID_JSON', 400, (why: string) => `request body is not valid JSON: ${why}`),
  validation: define('VALIDATION_FAILED', 400, (what: string) => `request does not match the schema: ${what}`),
  emptyPrompt: define('EMPTY_PROMPT', 400, () => 'prompt must contain at least one non-space character'),
  promptTooLong: define('PROMPT_TOO_LONG', 400, (max: number) => `prompt is longer than ${max} characters`),
  invalidSpec: define('INVALID_SPEC', 400, (why: string) => `spec could not be parsed or validated: ${why}`),
  specFetchFailed: define('SPEC_FETCH_FAILED', 400, (why: string) => `spec URL could not be fetched: ${why}`),
  unsafeInput: define('SAFETY_VALIDATION_FAILED', 400, (rule: string, reason: string) => `input refused by guardrail "${rule}": ${reason}`),
  notFound: define('NOT_FOUND', 404, (path: string) => `no route for ${path}`),
  specNotFound: define('SPEC_NOT_FOUND', 404, (id: string) => `no spec with id "${id}"`),
  jobNotFound: define('JOB_NOT_FOUND', 404, (id: string) => `no job with id "${id}"`),
  methodNotAllowed: define('METHOD_NOT_ALLOWED', 405, (method: string, allowed: string[]) => `${method} is not allowed here; use ${allowed.join(', ')}`),
  jobConflict: define('JOB_ALREADY_RUNNING', 409, (id: string) => `a job is already running (${id})`),
  bodyTooLarge: define('BODY_TOO_LARGE', 413, (limit: number) => `request body exceeds ${limit} bytes`),
  unsupportedMediaType: define('UNSUPPORTED_MEDIA_TYPE', 415, (got: string, want: string) => `content-type "${got}" is not supported; send ${want}`),
  upgradeRequired: define('UPGRADE_REQUIRED', 426, (path: string) => `${path} is a WebSocket endpoint; send an Upgrade: websocket request`),
  rateLimited: define('RATE_LIMITED', 429, (retryAfter: number) => `too many requests; retry after ${retryAfter} s`),
  internal: define('INTERNAL_ERROR', 500, () => 'internal error'),
  workerCrashed: define('WORKER_FAILED', 500, () => 'the prediction worker failed while handling this request'),
  overloaded: define('OVERLOADED', 503, () => 'server is overloaded; retry shortly'),
  notReady: define('NOT_READY', 503, (what: string) => `service is not ready: ${what}`),
  deadline: define('DEADLINE_EXCEEDED', 504, (ms: number) => `prediction did not finish within ${ms} ms`),
} as const;

/** Any thrown value -> status and JSON body; unknown errors never leak their message. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof ApiError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.details = err.details;
    return { status: err.status, body, headers: err.headers };
  }
  const e = Errors.internal();
  return { status: e.status, body: { error: { code: e.code, message: e.message } } };
}

export function withDetails(err: ApiError, details: unknown): ApiError {
  return new ApiError(err.code, err.status, err.message, details, err.headers);
}

export function withHeaders(err: ApiError, headers: Record<string, string>): ApiError {
  return new ApiError(err.code, err.status, err.message, err.details, { ...err.headers, ...headers });
}
