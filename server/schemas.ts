/**
 * Request body schemas, compiled once by ajv. Messages of failed validations are turned
 * into `details` of a VALIDATION_FAILED error by `check`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { Errors, withDetails } from './errors';

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, coerceTypes: false });

/** Longest accepted api_call string; real paths are far shorter. */
const MAX_CALL_LENGTH = 2048;
/** The seed's limit on history length. */
export const MAX_HISTORY = 100;

const historyEntry = {
  type: 'object',
  required: ['api_call'],
  additionalProperties: false,
  properties: {
    api_call: { type: 'string', minLength: 1, maxLength: MAX_CALL_LENGTH },
    method: { type: 'string', maxLength: 16 },
    timestamp: { type: ['string', 'number'], maxLength: 64 },
    status: { type: ['integer', 'string'], maxLength: 16 },
    params: { type: 'object', maxProperties: 50 },
  },
} as const;

export interface PredictBody {
  prompt: string;
  history?: { api_call: string; method?: string; timestamp?: string | number; status?: number | string; params?: Record<string, unknown> }[];
  max_predictions?: number;
  temperature?: number;
  spec_id?: string;
  session_id?: string;
}

export const predictSchema = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: false,
  properties: {
    prompt: { type: 'string' },
    history: { type: 'array', maxItems: MAX_HISTORY, items: historyEntry },
    max_predictions: { type: 'integer', minimum: 1, maximum: 20 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    spec_id: { type: 'string', minLength: 1, maxLength: 128 },
    session_id: { type: 'string', maxLength: 128 },
  },
} as const;

export interface FeedbackBody {
  session_id?: string;
  spec_id?: string;
  events: unknown[];
}

/** Events are checked one by one (feedbackEventSchema) so each bad one gets its own reason. */
export const feedbackSchema = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    session_id: { type: 'string', minLength: 1, maxLength: 128 },
    spec_id: { type: 'string', minLength: 1, maxLength: 128 },
    events: { type: 'array', minItems: 1, maxItems: 1000 },
  },
} as const;

export const feedbackEventSchema = historyEntry;

export interface SpecUploadBody {
  url?: string;
  spec?: unknown;
  spec_id?: string;
  strict?: boolean;
}

export const validatePredict = ajv.compile<PredictBody>(predictSchema);
export const validateFeedback = ajv.compile<FeedbackBody>(feedbackSchema);
export const validateFeedbackEvent = ajv.compile(feedbackEventSchema);

/** Deepest nesting accepted in a request body; real bodies need about 5 levels. */
export const MAX_BODY_DEPTH = 64;

/**
 * True when objects/arrays in `value` nest deeper than `max` levels (the top level is 1).
 * Iterative on purpose: the documents it guards are exactly the ones that would overflow
 * the stack of a recursive walk — structured clone into a worker, swagger-parser's
 * dereferencing and JSON.stringify all recurse, and a RangeError there is a 500.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop();
    const d = depths.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(d + 1);
      }
    }
  }
  return false;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid';
  const e = errors[0]!;
  const where = e.instancePath || '(body)';
  if (e.keyword === 'additionalProperties') return `${where} has unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Validate or throw VALIDATION_FAILED with ajv's errors as details. */
export function check<T>(validate: ValidateFunction<T>, body: unknown): T {
  if (validate(body)) return body;
  const err = Errors.validation(describeErrors(validate.errors));
  throw withDetails(
    err,
    (validate.errors ?? []).map((e) => ({ path: e.instancePath, keyword: e.keyword, message: e.message })),
  );
}
