/**
 * Named things in a prompt — quoted spans and runs of capitalised words that do not
 * start a sentence ("movies by Sofia Coppola", "the report "Q3 numbers""). A prompt that
 * names something usually needs a lookup (search or list) before anything can be read
 * about it, and the name itself says nothing about which endpoint to call, so it is
 * removed from the text that similarity is computed on.
 */

const QUOTED = /"[^"]{1,80}"|“[^”]{1,80}”|'[^'\s][^']{0,79}'(?!\w)/g;
const CAPITALISED = /^[A-Z][\p{L}\d'’-]*[,.!?;:]*$/u;

interface Span {
  start: number;
  end: number;
}

/** Word index spans of unquoted capitalised runs, plus the number of quoted spans. */
function scan(prompt: string): { words: string[]; runs: Span[]; quoted: number } {
  const quoted = (prompt.match(QUOTED) ?? []).length;
  const words = prompt.replace(QUOTED, ' ').split(/\s+/).filter(Boolean);
  const runs: Span[] = [];
  let open: Span | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const sentenceStart = i === 0 || /[.!?:]$/.test(words[i - 1]!);
    const cap = CAPITALISED.test(w) && !/^I(['’].*)?$/.test(w);
    if (cap && !sentenceStart) {
      if (!open) runs.push((open = { start: i, end: i + 1 }));
      else open.end = i + 1;
      if (/[,.!?;:]$/.test(w)) open = undefined;
    } else {
      open = undefined;
    }
  }
  return { words, runs, quoted };
}

export function countEntities(prompt: string): number {
  const { runs, quoted } = scan(prompt);
  return runs.length + quoted;
}

/**
 * The prompt without its named things: what the user wants done. Falls back to the whole
 * prompt when nothing else is left ("Titanic").
 */
export function goalText(prompt: string): string {
  const { words, runs } = scan(prompt);
  const drop = new Set<number>();
  for (const r of runs) for (let i = r.start; i < r.end; i++) drop.add(i);
  // Possessive endings of a dropped name stay dropped ("DiCaprio's" is one word already).
  const kept = words.filter((_, i) => !drop.has(i)).join(' ').trim();
  return kept.replace(/\s+/g, ' ') || prompt;
}

/**
 * Lower-cased words right before each named thing ("the movie The Dark Knight" ->
 * ["movie", "the"]): often the kind of thing that is named.
 */
export function entityNeighbours(prompt: string): string[] {
  const out: string[] = [];
  const { words, runs } = scan(prompt);
  for (const r of runs) {
    for (let i = Math.max(0, r.start - 2); i < r.start; i++) out.push(words[i]!.toLowerCase().replace(/[^\p{L}\d]/gu, ''));
  }
  for (const m of prompt.matchAll(QUOTED)) {
    const before = prompt.slice(0, m.index).trim().split(/\s+/).slice(-2);
    for (const w of before) out.push(w.toLowerCase().replace(/[^\p{L}\d]/gu, ''));
  }
  return out.filter(Boolean);
}

const ID_TOKEN = /^(#?\d{2,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z]{2,8}_[A-Za-z0-9]{6,}|(?=[a-z]*\d)[0-9a-f]{10,})$/i;

/** Id-like values in a prompt ("order 8841", "#77", a UUID, "cus_9fQ2..."): the user already holds an id. */
export function countIdValues(prompt: string): number {
  let n = 0;
  for (const raw of prompt.split(/\s+/)) {
    const w = raw.replace(/^[("'“]+|[)"'”,.!?;:]+$/g, '');
    if (ID_TOKEN.test(w)) n++;
  }
  return n;
}
