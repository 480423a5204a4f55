/**
 * Action verbs of English API prompts, grouped by the endpoint kinds they ask for. This
 * is general English (create/add/make, remove/delete...), not any API's vocabulary; it
 * feeds the action_verb_match feature, and the ranker learns how much to trust it.
 */
import { stem } from './tokenizer';

export type ActionClass = 'create' | 'update' | 'delete' | 'read' | 'search' | 'auth';

const VERBS: Record<ActionClass, string[]> = {
  create: ['create', 'add', 'make', 'register', 'open', 'post', 'submit', 'insert', 'upload', 'invite', 'generate', 'start', 'place', 'book', 'issue', 'build'],
  update: ['update', 'edit', 'change', 'modify', 'set', 'rename', 'replace', 'patch', 'adjust', 'move', 'assign', 'enable', 'disable', 'mark', 'reset', 'configure'],
  delete: ['delete', 'remove', 'cancel', 'drop', 'destroy', 'erase', 'revoke', 'clear', 'unsubscribe', 'archive', 'close', 'deactivate'],
  read: ['get', 'show', 'view', 'fetch', 'read', 'retrieve', 'see', 'display', 'check', 'list', 'download', 'look', 'open', 'who', 'what', 'which', 'count', 'number'],
  search: ['search', 'find', 'lookup', 'look', 'query', 'filter', 'locate', 'discover', 'browse'],
  auth: ['login', 'logout', 'log', 'sign', 'signin', 'signout', 'authenticate', 'token', 'refresh'],
};

/** Endpoint kinds each action class matches. */
export const ACTION_CLASSES: Record<ActionClass, ReadonlySet<string>> = {
  create: new Set(['create', 'action']),
  update: new Set(['update', 'action']),
  delete: new Set(['delete', 'action']),
  read: new Set(['read', 'list', 'search']),
  search: new Set(['search', 'list']),
  auth: new Set(['auth']),
};

const LOOKUP = new Map<string, ActionClass>();
// Later classes do not override earlier ones: "open" stays create, "look" stays read.
for (const cls of Object.keys(VERBS) as ActionClass[]) {
  for (const v of VERBS[cls]) if (!LOOKUP.has(stem(v))) LOOKUP.set(stem(v), cls);
}

/** The action class of the first action verb among the prompt's tokens (stopwords included). */
export function promptActionClass(tokens: Iterable<string>): ActionClass | undefined {
  for (const t of tokens) {
    const cls = LOOKUP.get(stem(t));
    if (cls) return cls;
  }
  return undefined;
}

/** Whether a word is one of the action verbs above (any class). */
export function isActionVerb(word: string): boolean {
  return LOOKUP.has(stem(word.toLowerCase()));
}
