/**
 * Deterministic request bodies for the load scenarios. Request number n always gives the
 * same body, and distinct n give distinct prompts (so neither the prediction cache nor the
 * prompt-embedding cache is hit: every request runs the encoder and the ranker).
 *
 * Prompts are made of plain words only: digit runs could trip the PII rules (phone, card
 * numbers) and turn a throughput test into a guardrail test.
 */
import { mulberry32 } from '../../engine/prng';

const VERBS = ['create', 'update', 'show', 'list', 'delete', 'find', 'rename', 'archive', 'invite', 'remove', 'check', 'pay', 'cancel', 'export', 'assign', 'review'];
const OBJECTS = [
  'a new user account', 'my profile', 'the team members', 'an invitation for my colleague', 'the project tasks', 'a comment on the task',
  'the open invoices', 'our subscription plan', 'the webhook endpoint', 'an api key', 'the audit logs', 'the project settings',
  'user preferences', 'the avatar picture', 'a password reset', 'the billing details', 'the task status', 'project members',
  'the latest invoice pdf', 'available plans', 'the team', 'overdue tasks', 'my session', 'the webhook deliveries',
];
const CONTEXTS = ['', 'right now', 'for the marketing team', 'before the release', 'in the sales project', 'for the new hire', 'after the meeting', 'for our customer', 'this week', 'again please', 'for the admin', 'from the dashboard', 'quickly', 'for finance', 'on the mobile app', 'for support'];
const TAILS = ['', 'thanks', 'and then confirm', 'if possible', 'as discussed', 'with details', 'for review', 'step by step'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Tag words: letters would in time spell words the profanity rule refuses. */
const CODE_WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray', 'yankee', 'zulu'];

/** Distinct code words for any integer (base 26 over CODE_WORDS): 0 -> "alpha", 27 -> "bravo bravo". */
export function codeWords(n: number): string {
  const out: string[] = [];
  let v = n;
  do {
    out.unshift(CODE_WORDS[v % 26]!);
    v = Math.floor(v / 26);
  } while (v > 0);
  return out.join(' ');
}

/** A word of letters for any integer (bijective base 26): 0 -> "a", 26 -> "aa". For ids in paths only. */
export function letterWord(n: number): string {
  let s = '';
  let v = n + 1;
  while (v > 0) {
    v--;
    s = LETTERS[v % 26] + s;
    v = Math.floor(v / 26);
  }
  return s;
}

const COMBOS = VERBS.length * OBJECTS.length * CONTEXTS.length * TAILS.length;

/** Distinct natural-language prompt n (49k distinct phrasings, then a letter tag). */
export function uniquePrompt(n: number): string {
  let i = n % COMBOS;
  const verb = VERBS[i % VERBS.length]!;
  i = Math.floor(i / VERBS.length);
  const obj = OBJECTS[i % OBJECTS.length]!;
  i = Math.floor(i / OBJECTS.length);
  const ctx = CONTEXTS[i % CONTEXTS.length]!;
  i = Math.floor(i / CONTEXTS.length);
  const tail = TAILS[i % TAILS.length]!;
  const round = Math.floor(n / COMBOS);
  const parts = [verb, obj, ctx, tail];
  // Past one cycle of phrasings, code words keep the prompt (and its cache key) unique.
  if (round > 0) parts.push(`ref ${codeWords(round)}`);
  return parts.filter(Boolean).join(' ');
}

/** Concrete calls against the bundled saas spec; {a}/{b} become ids derived from n. */
const SAAS_CALLS = [
  'GET /users/{a}', 'PUT /users/{a}', 'GET /users/{a}/preferences', 'GET /teams/{a}', 'GET /teams/{a}/members',
  'POST /teams/{a}/invitations', 'GET /projects/{a}', 'GET /projects/{a}/tasks', 'GET /projects/{a}/tasks/{b}',
  'POST /projects/{a}/tasks/{b}/comments', 'PATCH /projects/{a}/tasks/{b}', 'GET /invoices/{a}', 'POST /invoices/{a}/pay',
  'GET /subscription', 'GET /webhooks/{a}', 'POST /webhooks/{a}/test', 'GET /api-keys', 'GET /users/me', 'GET /projects',
];

/** Seeded PRNG (engine/prng.ts) so body n is the same in every run. */
const rng = mulberry32;

export interface HistoryEntry {
  api_call: string;
  method?: string;
  timestamp?: string;
}

/** 3-5 concrete-path entries; half carry the method in api_call, half in `method`. */
export function saasHistory(n: number): HistoryEntry[] {
  const r = rng(n * 7919 + 17);
  const len = 3 + Math.floor(r() * 3);
  const base = Date.UTC(2025, 0, 1) + n * 1000;
  const out: HistoryEntry[] = [];
  for (let i = 0; i < len; i++) {
    const call = SAAS_CALLS[Math.floor(r() * SAAS_CALLS.length)]!;
    const a = `${letterWord(Math.floor(r() * 5000))}${Math.floor(r() * 90) + 10}`;
    const b = `${Math.floor(r() * 900) + 100}`;
    const concrete = call.replace('{a}', a).replace('{b}', b);
    const ts = new Date(base + i * 15_000).toISOString();
    if (i % 2 === 0) out.push({ api_call: concrete, timestamp: ts });
    else {
      const sp = concrete.indexOf(' ');
      out.push({ api_call: concrete.slice(sp + 1), method: concrete.slice(0, sp), timestamp: ts });
    }
  }
  return out;
}
