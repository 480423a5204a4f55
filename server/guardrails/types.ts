/**
 * Shared names of the guardrail rules and the verdict shape. The reason strings are part
 * of the public contract: they are fixed per rule and never echo the offending input, so
 * an error response cannot reflect an attack payload or leak the personal data it caught.
 */

export const ATTACK_RULES = ['sql_injection', 'xss', 'path_traversal', 'command_injection'] as const;
export const PII_RULES = ['pii_email', 'pii_phone', 'pii_ssn', 'pii_credit_card'] as const;

export type AttackRule = (typeof ATTACK_RULES)[number];
export type PiiRule = (typeof PII_RULES)[number];
export type RuleName = AttackRule | PiiRule | 'profanity';

export type GuardVerdict = { ok: true } | { ok: false; rule: RuleName; reason: string };

/** One fixed, human sentence per rule. Stable: clients and dashboards may key on them. */
export const RULE_REASONS: Readonly<Record<RuleName, string>> = Object.freeze({
  sql_injection: 'The input looks like an SQL injection attempt.',
  xss: 'The input contains markup or script that could lead to cross-site scripting.',
  path_traversal: 'The input contains a path traversal sequence or a reference to a protected system file.',
  command_injection: 'The input looks like a shell command injection attempt.',
  pii_email: 'The input contains an email address; remove personal data and try again.',
  pii_phone: 'The input contains a phone number; remove personal data and try again.',
  pii_ssn: 'The input contains a social security number; remove personal data and try again.',
  pii_credit_card: 'The input contains a payment card number; remove personal data and try again.',
  profanity: 'The input contains offensive language.',
});

export const OK: GuardVerdict = Object.freeze({ ok: true }) as GuardVerdict;

/** A refusal verdict for `rule`, with its fixed reason. */
export function refuse(rule: RuleName): GuardVerdict {
  return { ok: false, rule, reason: RULE_REASONS[rule] };
}
