/**
 * The project's tokenizer: one function used for prompts, endpoint text, paths and
 * identifiers, so lexical retrieval, embeddings and features all see the same words.
 *
 *   "GET /users/{userId}/order_items?x=1"  ->  ["get", "users", "user", "id", "order", "items", "x", "1"]
 *
 * Splits on anything that is not a letter or digit, then inside identifiers on
 * camelCase humps ("userID" -> "user", "id"; "HTMLParser" -> "html", "parser") and on
 * letter/digit boundaries ("v2beta" -> "v", "2", "beta"). Lower-cases everything.
 */

const SPLIT_NON_WORD = /[^\p{L}\p{N}]+/u;
// lower->Upper ("userId"), UPPER->Upper+lower ("HTMLParser"), letter<->digit.
const CAMEL_BOUNDARY = /(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u;

/** Lower-cased word pieces of `text`, in order, duplicates kept. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  if (!text) return out;
  for (const chunk of text.split(SPLIT_NON_WORD)) {
    if (!chunk) continue;
    for (const piece of chunk.split(CAMEL_BOUNDARY)) {
      if (piece) out.push(piece.toLowerCase());
    }
  }
  return out;
}

/** Function words that carry no retrieval signal. Kept small and API-neutral. */
export const STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'and', 'or', 'of', 'to', 'in', 'on', 'for', 'by', 'with', 'from', 'at', 'as',
  'is', 'are', 'was', 'were', 'be', 'been', 'being', 'it', 'its', 'this', 'that', 'these', 'those',
  'i', 'me', 'my', 'we', 'our', 'you', 'your', 'he', 'she', 'his', 'her', 'they', 'them', 'their',
  'do', 'does', 'did', 'can', 'could', 'would', 'should', 'will', 'shall', 'may', 'might', 'must',
  'please', 'want', 'need', 'like', 'some', 'any', 'all', 'what', 'which', 'who', 'whom', 'whose',
  'how', 'when', 'where', 'why', 'there', 'here', 'then', 'than', 'so', 'if', 'into', 'about',
  'up', 'out', 'also', 'just', 'via', 'using', 'use', 'given', 'provided', 'specified', 'new',
  'let', 'lets', 'now', 'one', 'give', 'tell', 'show', 'find',
]);

/**
 * A light, deterministic stemmer for matching: folds plurals and the commonest verb
 * endings so that "users"/"user", "orders"/"ordered"/"ordering" meet, ends a final
 * consonant + "y" or "ie" in "i" ("movie"/"movies", "category"/"categories") and drops a
 * final silent "e" ("release"/"released"). Tokens of 3 letters or fewer are left alone.
 */
export function stem(word: string): string {
  const b = baseForm(word);
  if (b.length <= 3) return b;
  // "movie"/"movies" -> "movi", "release"/"released"/"releasing" -> "releas".
  const i = b.replace(/([^aeiou])(?:y|ie)$/, '$1i');
  return i.length > 4 && i.endsWith('e') && !i.endsWith('ee') ? i.slice(0, -1) : i;
}

/**
 * Plural and verb endings folded to a real word where possible ("categories" ->
 * "category", "ordered" -> "order"): what a vocabulary lookup falls back to.
 */
export function baseForm(word: string): string {
  const w = word;
  if (w.length <= 3 || /\d/.test(w)) return w;
  if (w.endsWith('ies') && w.length > 4) return w.slice(0, -3) + 'y';
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('ches') || w.endsWith('shes') || w.endsWith('xes') || w.endsWith('zes')) return w.slice(0, -2);
  if (w.endsWith('ss') || w.endsWith('us') || w.endsWith('is')) return w;
  if (w.endsWith('s')) return w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) return undouble(w.slice(0, -3));
  if (w.endsWith('ied') && w.length > 4) return w.slice(0, -3) + 'y';
  if (w.endsWith('ed') && w.length > 4) return undouble(w.slice(0, -2));
  return w;
}

function undouble(w: string): string {
  const n = w.length;
  if (n >= 3 && w[n - 1] === w[n - 2] && !'lsz'.includes(w[n - 1]!)) return w.slice(0, -1);
  return w;
}

/** Tokens minus stopwords and bare numbers, stemmed: the terms retrieval indexes. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const t of tokenize(text)) {
    if (STOPWORDS.has(t) || /^\d+$/.test(t)) continue;
    out.push(stem(t));
  }
  return out;
}
