/**
 * Profanity scoring with a small built-in word list.
 *
 * Scoring. Each occurrence of a listed word carries a weight: mild 0.25 (damn, hell,
 * crap, bloody, ...), moderate 0.4–0.6 (shit, bitch, asshole, ...; 0.4 for words with
 * innocent senses such as "prick", "bastard"), strong 1.0 (the f-word, the c-word,
 * slurs). Occurrences combine like independent probabilities:
 *
 *     score = 1 - Π (1 - weight_i)          (0 when nothing matched, at most 1)
 *
 * so with the default threshold 0.5 one strong word or one moderate word of weight ≥ 0.5
 * blocks, one or two mild words do not (0.25, 0.44), three mild words do (0.58).
 * Prompt length does not dilute the score: a strong word is as offensive in a long
 * prompt as in a short one.
 *
 * Matching is per token (so "Scunthorpe", "cocktail", "assessment", "Dickens" and
 * "Titanic" are clean) after leetspeak folding (`sh1t`, `$hit`, `@ss`, `f*ck`), squeezing
 * of stretched letters (`fuuuck`), joining of spelled-out letters (`f u c k`, `f.u.c.k`),
 * and explicit inflections and compounds (`fucking`, `bullshit`, `dumbass`).
 */

/** How a root may be extended: `none` exact only; `plural` adds s/es/ed; `full` adds the usual endings. */
type Inflect = 'none' | 'plural' | 'full';

/** [root, weight, inflection]. Ambiguous words (names, animals, everyday senses) are mild or plural-only. */
const WORDS: ReadonlyArray<readonly [string, number, Inflect]> = [
  // mild
  ['damn', 0.25, 'full'], ['dammit', 0.25, 'none'], ['goddamn', 0.25, 'full'], ['hell', 0.25, 'plural'],
  ['crap', 0.25, 'full'], ['bloody', 0.25, 'none'], ['bugger', 0.25, 'full'], ['bollocks', 0.25, 'none'],
  ['arse', 0.25, 'full'], ['ass', 0.25, 'plural'], ['piss', 0.25, 'full'], ['dick', 0.25, 'plural'],
  ['cock', 0.25, 'plural'], ['tit', 0.25, 'plural'], ['boob', 0.25, 'plural'], ['moron', 0.25, 'plural'],
  ['idiot', 0.25, 'plural'], ['jerkoff', 0.25, 'none'], ['wtf', 0.25, 'none'], ['stfu', 0.5, 'none'],
  ['badass', 0.25, 'plural'], ['douche', 0.25, 'full'], ['bastard', 0.4, 'plural'], ['cum', 0.25, 'plural'],
  // moderate
  ['shit', 0.5, 'full'], ['bullshit', 0.5, 'full'], ['horseshit', 0.5, 'none'], ['dipshit', 0.5, 'plural'],
  ['batshit', 0.5, 'none'], ['bitch', 0.5, 'full'], ['asshole', 0.5, 'plural'], ['arsehole', 0.5, 'plural'],
  ['dumbass', 0.5, 'plural'], ['jackass', 0.5, 'plural'], ['smartass', 0.5, 'plural'], ['dickhead', 0.5, 'plural'],
  ['douchebag', 0.5, 'plural'], ['wanker', 0.5, 'plural'], ['wank', 0.5, 'full'], ['twat', 0.5, 'plural'],
  ['prick', 0.4, 'plural'], ['pussy', 0.5, 'none'], ['pussies', 0.5, 'none'], ['slut', 0.5, 'full'],
  ['whore', 0.5, 'full'], ['cocksucker', 0.5, 'plural'], ['retard', 0.6, 'full'], ['fag', 0.6, 'plural'],
  ['jizz', 0.5, 'full'], ['shithead', 0.5, 'plural'], ['shitface', 0.5, 'plural'],
  // strong
  ['fuck', 1, 'full'], ['motherfucker', 1, 'plural'], ['motherfucking', 1, 'none'], ['fucker', 1, 'plural'],
  ['fuckwit', 1, 'plural'], ['fuckface', 1, 'plural'], ['clusterfuck', 1, 'plural'], ['cunt', 1, 'full'],
  ['nigger', 1, 'plural'], ['nigga', 1, 'plural'], ['faggot', 1, 'plural'], ['kike', 1, 'plural'],
  ['spic', 1, 'plural'], ['tranny', 1, 'none'], ['trannies', 1, 'none'],
];

const FULL_SUFFIXES = ['s', 'es', 'ed', 'er', 'ers', 'ing', 'in', 'y', 'ier', 'iest', 'head', 'heads', 'face', 'wit', 'tard', 'bag', 'hole', 'holes'];
const PLURAL_SUFFIXES = ['s', 'es', 'ed'];

/** Exact form -> weight, with every allowed inflection expanded up front (O(1) lookups). */
const LEXICON: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  const put = (w: string, weight: number) => m.set(w, Math.max(weight, m.get(w) ?? 0));
  for (const [root, weight, inflect] of WORDS) {
    put(root, weight);
    const suffixes = inflect === 'full' ? FULL_SUFFIXES : inflect === 'plural' ? PLURAL_SUFFIXES : [];
    for (const s of suffixes) put(root + s, weight);
    // doubled final consonant before a vowel ending: "crapped", "shitting"
    if (inflect === 'full') for (const s of ['ed', 'er', 'ers', 'ing', 'y']) put(root + root.at(-1) + s, weight);
  }
  return m;
})();

/** Listed forms grouped by length, for the masked-token comparison. */
const LEXICON_BY_LENGTH: ReadonlyMap<number, string[]> = (() => {
  const m = new Map<number, string[]>();
  for (const w of LEXICON.keys()) {
    const list = m.get(w.length) ?? [];
    list.push(w);
    m.set(w.length, list);
  }
  return m;
})();

const LEET: Readonly<Record<string, string>> = {
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
  '@': 'a', '$': 's', '!': 'i', '|': 'l', '+': 't', '€': 'e',
};

/** Tokens: letters plus the characters leetspeak and masking use. */
const TOKEN = /[\p{L}\p{N}@$!|+€*]+/gu;
/** Runs of single characters spelled out: "f u c k", "f.u.c.k", "f-u-c-k". */
const SPELLED = /(?<![\p{L}\p{N}])((?:[\p{L}\p{N}@$!*][\s.\-_]{1,2}){2,}[\p{L}\p{N}@$!*])(?![\p{L}\p{N}])/gu;

function squeezeVariants(t: string): string[] {
  if (!/(.)\1\1/u.test(t)) return [t];
  return [t, t.replace(/(.)\1{2,}/gu, '$1$1'), t.replace(/(.)\1{2,}/gu, '$1')];
}

function weightOfForm(t: string): number {
  let best = 0;
  for (const v of squeezeVariants(t)) best = Math.max(best, LEXICON.get(v) ?? 0);
  return best;
}

/** `f*ck`, `sh**`: asterisks stand for letters of a listed word of the same length. */
function weightOfMasked(t: string): number {
  const letters = t.replace(/\*/g, '');
  if (letters.length < 2 || t[0] === '*') return 0;
  let best = 0;
  for (const w of LEXICON_BY_LENGTH.get(t.length) ?? []) {
    let same = true;
    for (let i = 0; i < t.length && same; i++) same = t[i] === '*' || t[i] === w[i];
    if (same) best = Math.max(best, LEXICON.get(w)!);
  }
  return best;
}

/** Weight of one token (0 when clean), trying the plain, leet-folded and masked readings. */
function tokenWeight(raw: string): number {
  if (raw.length < 2 || !/\p{L}/u.test(raw)) return 0;
  const trimmed = raw.replace(/^[!|+$@*]+|[!|+*]+$/g, '') || raw;
  let best = weightOfForm(trimmed);
  if (best >= 1) return best;
  if (/[\d@$!|+€]/.test(raw)) {
    for (const base of [raw, trimmed]) {
      const folded = base.replace(/[0-9@$!|+€]/g, (c) => LEET[c] ?? c);
      best = Math.max(best, weightOfForm(folded));
      if (base.includes('1')) best = Math.max(best, weightOfForm(base.replace(/1/g, 'l').replace(/[0-9@$!|+€]/g, (c) => LEET[c] ?? c)));
    }
  }
  if (raw.includes('*')) {
    const folded = trimmed.replace(/[0-9@$!|+€]/g, (c) => LEET[c] ?? c);
    best = Math.max(best, weightOfMasked(folded));
  }
  return best;
}

/**
 * Profanity score of `canon` (decoded, lower-cased text) in [0, 1]; see the file header
 * for the formula. 0 means no listed word was found.
 */
export function profanityScore(canon: string): number {
  let clean = 1;
  for (const m of canon.matchAll(TOKEN)) {
    const w = tokenWeight(m[0]);
    if (w > 0) clean *= 1 - Math.min(1, w);
  }
  for (const m of canon.matchAll(SPELLED)) {
    const joined = m[1]!.replace(/[\s.\-_]/g, '');
    const w = tokenWeight(joined);
    if (w > 0) clean *= 1 - Math.min(1, w);
  }
  return 1 - clean;
}
