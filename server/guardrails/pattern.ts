/** A detector pattern with a short id, so benches and tests can say which one fired. */
export interface NamedPattern {
  /** Stable short name, e.g. "union-select". Never shown to clients. */
  id: string;
  /** Runs on lower-cased canonical text; must have bounded repetition (no ReDoS). */
  re: RegExp;
}

/** The id of the first pattern matching any of `views`, or undefined. */
export function firstMatch(patterns: readonly NamedPattern[], views: readonly string[]): string | undefined {
  for (const p of patterns) {
    for (const v of views) {
      if (p.re.test(v)) return p.id;
    }
  }
  return undefined;
}
