/**
 * Structure check of one prediction object before it leaves the service (the seed's
 * "structure enforcement"). Returns every problem found, in field order, so a log line
 * shows all of them at once; an empty list means the prediction is well formed.
 *
 *   { api_call: "PUT /users/{id}", method: "PUT", description, parameters: { id: "123" },
 *     confidence: 0..1, ml_ranking_score, rank: 1.., ai_provider, semantic_similarity,
 *     safety_validated, cold_start_prediction, reasoning?, sensitive?: admin|debug|internal }
 */
import { HTTP_METHODS } from '../../engine/types';

const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
const API_CALL = /^([A-Z]+) (\/\S*)$/;

const KNOWN_FIELDS = new Set([
  'api_call', 'method', 'description', 'parameters', 'confidence', 'ml_ranking_score', 'rank',
  'ai_provider', 'semantic_similarity', 'safety_validated', 'cold_start_prediction', 'reasoning', 'sensitive',
]);
/** Values of the optional `sensitive` flag set from isSensitiveEndpoint(). */
const SENSITIVE_KINDS = new Set(['admin', 'debug', 'internal']);

export interface ShapeOptions {
  /** Accept fields outside the documented set instead of reporting them. Default false. */
  allowExtraFields?: boolean;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Problems with the shape of prediction `p`; `[]` when valid. Never throws. */
export function validatePredictionShape(p: unknown, opts: ShapeOptions = {}): string[] {
  if (!isPlainObject(p)) return ['prediction must be an object'];
  const problems: string[] = [];

  const call = p.api_call;
  let callMethod: string | undefined;
  if (typeof call !== 'string') problems.push('api_call must be a string "METHOD /path"');
  else {
    const m = API_CALL.exec(call);
    if (!m || !METHODS.has(m[1]!)) problems.push('api_call must be "METHOD /path" with an upper-case HTTP method');
    else callMethod = m[1];
  }

  if (typeof p.method !== 'string' || !METHODS.has(p.method)) problems.push('method must be an upper-case HTTP method');
  else if (callMethod !== undefined && p.method !== callMethod) problems.push('method must equal the method in api_call');

  if (typeof p.description !== 'string') problems.push('description must be a string');

  if (!isPlainObject(p.parameters)) problems.push('parameters must be an object');
  else {
    for (const [k, v] of Object.entries(p.parameters)) {
      const scalar = v === null || typeof v === 'string' || typeof v === 'boolean' || isFiniteNumber(v);
      if (!scalar) problems.push(`parameters.${k.slice(0, 64)} must be a string, finite number, boolean or null`);
    }
  }

  if (!isFiniteNumber(p.confidence) || p.confidence < 0 || p.confidence > 1) problems.push('confidence must be a number in [0, 1]');
  if (!isFiniteNumber(p.ml_ranking_score)) problems.push('ml_ranking_score must be a finite number');
  if (!Number.isInteger(p.rank) || (p.rank as number) < 1) problems.push('rank must be an integer >= 1');
  if (typeof p.ai_provider !== 'string' || p.ai_provider.length === 0) problems.push('ai_provider must be a non-empty string');
  if (!isFiniteNumber(p.semantic_similarity)) problems.push('semantic_similarity must be a finite number');
  if (typeof p.safety_validated !== 'boolean') problems.push('safety_validated must be a boolean');
  if (typeof p.cold_start_prediction !== 'boolean') problems.push('cold_start_prediction must be a boolean');
  if (p.reasoning !== undefined && typeof p.reasoning !== 'string') problems.push('reasoning must be a string when present');
  if (p.sensitive !== undefined && !SENSITIVE_KINDS.has(p.sensitive as string)) problems.push('sensitive must be "admin", "debug" or "internal" when present');

  if (!opts.allowExtraFields) {
    for (const k of Object.keys(p)) if (!KNOWN_FIELDS.has(k)) problems.push(`unexpected field ${k.slice(0, 64)}`);
  }
  return problems;
}
