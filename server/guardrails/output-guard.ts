/**
 * Output guardrails: what the service says back is made safe to display and flagged
 * where it points at an administrative surface.
 *
 * - Parameter values come from the caller's own history, so they are cleaned, not judged:
 *   markup and control characters go, script URLs go, length is capped at 256.
 * - Descriptions come from third-party OpenAPI documents and may hold HTML, entities and
 *   markup smuggled as entities (`&lt;script&gt;`); they become plain, single-line text.
 * - Sensitive endpoints (admin, debug, internal) are flagged for the caller to decide
 *   on; they are never dropped here, since an admin console legitimately predicts them.
 */

export const MAX_PARAMETER_CHARS = 256;
export const DEFAULT_DESCRIPTION_CHARS = 300;

/** Control characters, bidi overrides (Trojan Source), zero-width characters, BOM. */
const UNSAFE_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const LINE_BREAKS = /[\t\r\n\u2028\u2029]+/g;
/** Elements whose content is code, not text: dropped with their content. */
const CODE_ELEMENTS = /<\s*(script|style|iframe|object|embed|template|noscript)\b[^>]*>[\s\S]*?<\s*\/\s*\1\s*>/gi;
const COMMENTS = /<!--[\s\S]*?(?:-->|$)/g;
const TAG = /<\s*\/?\s*[a-z!?][^<>]*>/gi;
/** A tag cut off by truncation or left open: `...<img src=x onerror=alert(1)` at the end. */
const OPEN_TAG_AT_END = /<\s*\/?\s*[a-z!?][^<>]*$/i;
const SCRIPT_SCHEME = /\b(?:javascript|vbscript|livescript)\s*:|\bdata\s*:\s*(?:text\/html|image\/svg\+xml|application\/(?:x-)?(?:java|ecma)script)/gi;

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…', mdash: '—', ndash: '–',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', copy: '©', reg: '®', trade: '™', middot: '·', bull: '•',
};

function stripMarkup(s: string): string {
  return s.replace(CODE_ELEMENTS, ' ').replace(COMMENTS, ' ').replace(TAG, ' ').replace(OPEN_TAG_AT_END, ' ');
}

function decodeEntitiesOnce(s: string): string {
  return s.replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]{2,8}));/gi, (m, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return ENTITIES[name.toLowerCase()] ?? m;
    const cp = dec !== undefined ? parseInt(dec, 10) : parseInt(hex!, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0) return '';
    return String.fromCodePoint(cp);
  });
}

/** Cut to at most `max` code points without splitting a surrogate pair. */
function clampCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  return Array.from(s).slice(0, max).join('');
}

/**
 * A prediction parameter value made safe to return: strings lose markup, control and
 * bidi characters and script URLs and are capped at 256 characters; finite numbers and
 * booleans pass; null/undefined, NaN, Infinity, functions and symbols become null;
 * objects and arrays become their (cleaned, capped) JSON text.
 */
export function sanitizeParameterValue(v: unknown): string | number | boolean | null {
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'bigint':
      return cleanParameterString(v.toString());
    case 'string':
      return cleanParameterString(v);
    case 'object': {
      if (v === null) return null;
      let json: string | undefined;
      try {
        json = JSON.stringify(v);
      } catch {
        return null; // cycles, BigInt inside, throwing toJSON
      }
      return json === undefined ? null : cleanParameterString(json);
    }
    default:
      return null;
  }
}

function cleanParameterString(s: string): string {
  let out = s;
  // Bounded work: look at a generous prefix only; the result is capped at 256 anyway.
  if (out.length > MAX_PARAMETER_CHARS * 8) out = out.slice(0, MAX_PARAMETER_CHARS * 8);
  out = stripMarkup(out).replace(UNSAFE_CHARS, '').replace(LINE_BREAKS, ' ');
  // Repeat: removing "javascript:" from "javajavascript:script:" leaves another one.
  for (let i = 0; i < 3; i++) {
    const next = out.replace(SCRIPT_SCHEME, '');
    if (next === out) break;
    out = next;
  }
  return clampCodePoints(out.replace(/ {2,}/g, ' ').trim(), MAX_PARAMETER_CHARS);
}

/**
 * A description as plain text: code elements, comments and tags removed, entities
 * decoded (and any markup the decoding revealed removed again), control and bidi
 * characters dropped, whitespace collapsed, then cut to `max` characters on a word
 * boundary with a trailing "…" (the ellipsis counts toward `max`).
 */
export function sanitizeDescription(s: string, max: number = DEFAULT_DESCRIPTION_CHARS): string {
  if (typeof s !== 'string' || s.length === 0) return '';
  const limit = Number.isFinite(max) ? Math.max(1, Math.floor(max)) : DEFAULT_DESCRIPTION_CHARS;
  // Bounded work on huge inputs: nothing past this prefix can reach the output.
  let out = s.length > limit * 20 + 1000 ? s.slice(0, limit * 20 + 1000) : s;
  for (let i = 0; i < 3; i++) {
    const next = decodeEntitiesOnce(stripMarkup(out));
    if (next === out) break;
    out = next;
  }
  out = stripMarkup(out).replace(UNSAFE_CHARS, '').replace(/\s+/g, ' ').trim();
  return truncateOnWord(out, limit);
}

function truncateOnWord(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  if (max === 1) return '…';
  let cut = chars.slice(0, max - 1).join('');
  const lastSpace = cut.lastIndexOf(' ');
  // Prefer a word boundary unless it would throw away more than half the budget.
  if (lastSpace >= Math.floor((max - 1) / 2)) cut = cut.slice(0, lastSpace);
  cut = cut.replace(/[\s,;:.\-–—(\[{/]+$/u, '');
  return cut + '…';
}

export interface SensitiveEndpoint {
  sensitive: boolean;
  kind?: 'admin' | 'debug' | 'internal';
}

const ADMIN_WORDS = new Set(['admin', 'admins', 'administrator', 'administrators', 'administration', 'superuser', 'superusers', 'sudo', 'backoffice']);
const DEBUG_WORDS = new Set(['debug', 'debugger', 'debugging', 'phpinfo', 'pprof', 'heapdump', 'threaddump', 'profiler', 'jolokia', 'trace.axd', 'elmah']);
const INTERNAL_WORDS = new Set(['internal', 'actuator']);
/** Operational names that are only sensitive at the root ("/metrics", not "/campaigns/{id}/metrics"). */
const ROOT_INTERNAL_WORDS = new Set(['metrics', 'system', 'sys', 'ops', 'management', 'private', 'env', 'config']);
/** Path prefixes skipped when deciding what the "root" segment is. */
const PREFIX_SEGMENT = /^(?:api|rest|v\d+(?:\.\d+)*|latest)$/;

const ADMIN_TAGS = new Set(['admin', 'admins', 'administration', 'administrator', 'back office', 'backoffice']);
const DEBUG_TAGS = new Set(['debug', 'debugging', 'diagnostics']);
const INTERNAL_TAGS = new Set(['internal', 'private', 'system', 'ops', 'operations']);

/** Words of one literal path segment: "_internal" -> internal; "adminUsers" -> admin, users. */
function segmentWords(seg: string): string[] {
  const words = seg
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  words.push(seg.toLowerCase()); // whole segment too: "trace.axd"
  return words;
}

/**
 * Whether an endpoint is an administrative, debugging or internal surface, from its
 * literal path segments (templates like `{adminId}` are values, not routes) and its tags.
 * Flags, never blocks: callers may mark, log or down-rank.
 */
export function isSensitiveEndpoint(path: string, tags: string[]): SensitiveEndpoint {
  const kinds = new Set<'admin' | 'debug' | 'internal'>();
  const rawPath = typeof path === 'string' ? path.split(/[?#]/)[0]! : '';
  const segments = rawPath.split('/').filter((s) => s.length > 0 && !s.includes('{'));
  let rootSeen = false;
  for (const seg of segments) {
    const words = segmentWords(seg);
    const isPrefix = !rootSeen && PREFIX_SEGMENT.test(seg.toLowerCase());
    for (const w of words) {
      if (ADMIN_WORDS.has(w)) kinds.add('admin');
      else if (DEBUG_WORDS.has(w)) kinds.add('debug');
      else if (INTERNAL_WORDS.has(w)) kinds.add('internal');
    }
    // Root words must be the whole segment: "/metrics.json" yes, "/solar-system" no.
    if (!rootSeen && !isPrefix && ROOT_INTERNAL_WORDS.has(seg.toLowerCase().replace(/\.[a-z0-9]+$/, ''))) kinds.add('internal');
    if (seg.startsWith('__') && seg.endsWith('__')) kinds.add('debug'); // Django-style "__debug__"
    if (!isPrefix) rootSeen = true;
  }
  for (const t of Array.isArray(tags) ? tags : []) {
    if (typeof t !== 'string') continue;
    const tag = t.trim().toLowerCase();
    if (ADMIN_TAGS.has(tag)) kinds.add('admin');
    else if (DEBUG_TAGS.has(tag)) kinds.add('debug');
    else if (INTERNAL_TAGS.has(tag)) kinds.add('internal');
  }
  for (const kind of ['admin', 'debug', 'internal'] as const) {
    if (kinds.has(kind)) return { sensitive: true, kind };
  }
  return { sensitive: false };
}
