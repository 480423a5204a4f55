/**
 * The input guard: one verdict per prompt or history entry, before any prediction work.
 *
 * Order of checks, first refusal wins:
 *   1. attack rules (sql_injection, xss, path_traversal, command_injection)
 *   2. personal data (pii_credit_card, pii_ssn, pii_email, pii_phone), when enabled
 *   3. profanity, when its score reaches the threshold
 * History entries get only the attack rules: their parameter values legitimately hold
 * emails and phone numbers the user already sent to the API.
 */
import { detectAttack, detectAttackInCanonical } from './attack-rules';
import { canonicalView } from './normalize';
import { detectPii } from './pii';
import { profanityScore } from './profanity';
import { OK, refuse, type GuardVerdict } from './types';

export interface InputGuardOptions {
  /** Master switch (`OPENSESAME_ENABLE_GUARDRAILS`). When false every check returns `{ ok: true }`. */
  enabled: boolean;
  /** Refuse prompts carrying emails, phone numbers, SSNs or card numbers (`OPENSESAME_ENABLE_PII_DETECTION`). */
  piiDetection: boolean;
  /**
   * Profanity score (0..1, see profanity.ts) at or above which a prompt is refused.
   * Default 0.5: one moderate or strong word, or three mild ones. Values above 1 turn the
   * profanity rule off; a score of 0 (nothing found) never refuses, whatever the threshold.
   */
  profanityThreshold?: number;
}

export interface InputGuard {
  /** Verdict for a prompt. Never throws; the reason never contains the input. */
  check(text: string): GuardVerdict;
  /** Attack rules over a history entry: its `api_call` and its parameter names and values. */
  checkHistoryEntry(apiCall: string, params?: Record<string, unknown>): GuardVerdict;
}

export const DEFAULT_PROFANITY_THRESHOLD = 0.5;
/** Upper bound on the characters inspected per parameter value (values are capped, not skipped). */
const MAX_PARAM_CHARS = 4096;
const MAX_PARAM_DEPTH = 4;

/** Attack rules over one string. */
function checkAttacks(text: string): GuardVerdict {
  const hit = detectAttack(text);
  return hit === undefined ? OK : refuse(hit.rule);
}

/** Every string found in a parameter value, keys included, depth-limited. */
function collectStrings(value: unknown, out: string[], depth: number): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') out.push(value.length > MAX_PARAM_CHARS ? value.slice(0, MAX_PARAM_CHARS) : value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return;
  else if (depth >= MAX_PARAM_DEPTH) return;
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, out, depth + 1);
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out.push(k);
      collectStrings(v, out, depth + 1);
    }
  }
}

/**
 * Attack rules applied to a history entry. The api_call may carry a method
 * ("GET /users/{id}"), a concrete path, a query string and percent-encoding; all of
 * that is normal. Parameter names and string values (nested ones too) are checked one
 * by one so a value cannot hide behind its neighbours.
 */
export function checkHistoryEntry(apiCall: string, params?: Record<string, unknown>): GuardVerdict {
  const verdict = checkAttacks(String(apiCall));
  if (!verdict.ok || params === undefined || params === null) return verdict;
  const strings: string[] = [];
  collectStrings(params, strings, 0);
  for (const s of strings) {
    const v = checkAttacks(s);
    if (!v.ok) return v;
  }
  return OK;
}

/** Build an input guard from resolved options. Throws RangeError on a bad threshold. */
export function createInputGuard(opts: InputGuardOptions): InputGuard {
  const threshold = opts.profanityThreshold ?? DEFAULT_PROFANITY_THRESHOLD;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
    throw new RangeError('profanityThreshold must be a finite number >= 0 (0..1 is meaningful)');
  }
  const enabled = opts.enabled;
  const pii = opts.piiDetection;

  return {
    check(text: string): GuardVerdict {
      if (!enabled) return OK;
      const input = typeof text === 'string' ? text : String(text);
      const canon = canonicalView(input);
      const attack = detectAttackInCanonical(canon);
      if (attack !== undefined) return refuse(attack.rule);
      if (pii) {
        const rule = detectPii(canon);
        if (rule !== undefined) return refuse(rule);
      }
      if (threshold <= 1) {
        const score = profanityScore(canon);
        if (score > 0 && score >= threshold) return refuse('profanity');
      }
      return OK;
    },
    checkHistoryEntry(apiCall: string, params?: Record<string, unknown>): GuardVerdict {
      return enabled ? checkHistoryEntry(apiCall, params) : OK;
    },
  };
}
