/**
 * The four attack rule families run over the canonical views of one text.
 *
 *   text ─▶ canon (normalize.ts) ─┬─▶ flat ─┬─ sqlViews  ─▶ SQL_PATTERNS      sql_injection
 *                                 │         ├─ xssViews  ─▶ XSS_PATTERNS      xss
 *                                 │         └─ pathViews ─▶ PATH_PATTERNS     path_traversal (last)
 *                                 └─ shellViews ──────────▶ COMMAND_PATTERNS  command_injection
 *
 * Families run in the order sql, xss, command, path, so `; cat /etc/passwd` is reported
 * as the command injection it is rather than as the file it reads.
 *
 * When the text contains `+`, every family also sees the form-encoding reading of it
 * (`+` as a space: `1'+or+'1'='1`), since query strings are decoded that way.
 */
import type { AttackRule } from './types';
import { canonicalView, flatten } from './normalize';
import { firstMatch, type NamedPattern } from './pattern';
import { SQL_PATTERNS, sqlViews } from './sql-injection';
import { XSS_PATTERNS, xssViews } from './xss';
import { PATH_PATTERNS, pathViews } from './path-traversal';
import { COMMAND_PATTERNS, shellViews } from './command-injection';

/** Which family fired and which of its patterns (for logs and benches, never clients). */
export interface AttackHit {
  rule: AttackRule;
  pattern: string;
}

interface Family {
  rule: AttackRule;
  patterns: readonly NamedPattern[];
  views(canon: string, flat: string): string[];
}

const FAMILIES: readonly Family[] = [
  { rule: 'sql_injection', patterns: SQL_PATTERNS, views: (_c, flat) => sqlViews(flat) },
  { rule: 'xss', patterns: XSS_PATTERNS, views: (canon, flat) => xssViews(canon, flat) },
  { rule: 'command_injection', patterns: COMMAND_PATTERNS, views: (canon) => shellViews(canon) },
  { rule: 'path_traversal', patterns: PATH_PATTERNS, views: (_c, flat) => pathViews(flat) },
];

/** Run every attack family over `text`; the first hit, or undefined when clean. */
export function detectAttack(text: string): AttackHit | undefined {
  return detectAttackInCanonical(canonicalView(text));
}

/** Same as detectAttack, for text already passed through `canonicalView`. */
export function detectAttackInCanonical(canon: string): AttackHit | undefined {
  const flat = flatten(canon);
  const readings: Array<[string, string]> = [[canon, flat]];
  if (canon.includes('+')) {
    const plusCanon = canon.replace(/\+/g, ' ');
    readings.push([plusCanon, flatten(plusCanon)]);
  }
  for (const fam of FAMILIES) {
    const views: string[] = [];
    for (const [c, f] of readings) views.push(...fam.views(c, f));
    const id = firstMatch(fam.patterns, views);
    if (id !== undefined) return { rule: fam.rule, pattern: id };
  }
  return undefined;
}
