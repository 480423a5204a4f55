/** Public surface of the guardrails: input checks, output sanitising, rule names. */
export { createInputGuard, checkHistoryEntry, DEFAULT_PROFANITY_THRESHOLD } from './input-guard';
export type { InputGuard, InputGuardOptions } from './input-guard';
export { detectAttack } from './attack-rules';
export type { AttackHit } from './attack-rules';
export { detectPii, luhnValid } from './pii';
export { profanityScore } from './profanity';
export { canonicalView } from './normalize';
export {
  sanitizeParameterValue,
  sanitizeDescription,
  isSensitiveEndpoint,
} from './output-guard';
export type { SensitiveEndpoint } from './output-guard';
export { validatePredictionShape } from './prediction-shape';
export { ATTACK_RULES, PII_RULES, RULE_REASONS } from './types';
export type { RuleName, AttackRule, PiiRule, GuardVerdict } from './types';
