/**
 * Where a response describes people: a group of fields (the root object, or the items of
 * a nested list such as "cast[]" or "authors[]") with a name beside fields only people
 * have (email, gender, birthday, job ...). Used by the resource graph (is this resource
 * people-like?), by features (does this endpoint answer "who ...?") and by the training
 * prompt writer ("who are the authors of ...?").
 */
import { tokenize } from './tokenizer';

const NAME_LEAVES = new Set(['name', 'full_name', 'display_name', 'first_name', 'last_name', 'username']);
const PERSON_LEAVES = new Set([
  'email', 'phone', 'gender', 'birthday', 'birth_date', 'date_of_birth', 'birthdate', 'deathday', 'place_of_birth',
  'username', 'first_name', 'last_name', 'given_name', 'family_name', 'full_name', 'job', 'job_title', 'department',
  'nationality',
]);
/** Wrapper lists whose items are the records themselves ("results[]"), not a nested group. */
export const RECORD_CONTAINERS = new Set(['data', 'results', 'items', 'records', 'entries', 'list', 'values', 'content', 'hits', 'rows', 'objects', 'nodes']);

/**
 * Parent paths of the field groups that describe people, in first-seen order: "" for the
 * root object, "results[]" for a wrapper list, "cast[]" / "owner" for nested groups.
 */
export function personGroups(fields: readonly string[]): string[] {
  const groups = new Map<string, { name: boolean; person: boolean }>();
  for (const f of fields) {
    const cut = f.lastIndexOf('.');
    const parent = cut < 0 ? '' : f.slice(0, cut);
    const leaf = tokenize(f.slice(cut + 1)).join('_');
    let g = groups.get(parent);
    if (!g) groups.set(parent, (g = { name: false, person: false }));
    if (NAME_LEAVES.has(leaf)) g.name = true;
    if (PERSON_LEAVES.has(leaf) && leaf !== 'name') g.person = true;
  }
  return [...groups].filter(([, g]) => g.name && g.person).map(([p]) => p);
}

/** Whether a group's parent path is the record itself (root, or a top-level wrapper list). */
export function isRecordLevel(parent: string): boolean {
  return parent === '' || (parent.endsWith('[]') && !parent.includes('.') && RECORD_CONTAINERS.has(parent.slice(0, -2).toLowerCase()));
}

/** The response's records are people. */
export function describesPeople(fields: readonly string[]): boolean {
  return personGroups(fields).some(isRecordLevel);
}

/** Number of nested lists of people in the response ("cast[]", "crew[]", "members[]"), at most 3. */
export function peopleLists(fields: readonly string[]): number {
  return Math.min(3, personGroups(fields).filter((p) => p.endsWith('[]') && !isRecordLevel(p)).length);
}
