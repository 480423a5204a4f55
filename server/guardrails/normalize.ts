/**
 * Canonical views of untrusted text for the guardrail detectors.
 *
 * Attackers hide payloads behind encodings a downstream decoder will undo; the detectors
 * must see what that decoder would see. Every check therefore runs on decoded views:
 *
 *   raw ──decode loop (≤ 4 rounds, until stable)──────────────────────────▶ decoded
 *         \u003c \x3c \u{3c}   &#60; &#x3c; &lt &colon;   %3c %253c %c0%ae %u002e
 *   decoded ──NFKC · lower-case · strip combining marks · homoglyphs · drop
 *             zero-width / NUL / control characters───────────────────────▶ canon
 *   canon ──whitespace runs → ' '──────────────────────────────────────────▶ flat
 *
 * Rule families then derive their own views from `flat` (SQL comments removed, `\` as
 * `/`, shell quoting undone; see attack-rules.ts). Views are for detection only: nothing
 * here is used to rewrite what the client sent.
 */

const MAX_DECODE_ROUNDS = 4;

/** Named entities worth decoding: markup and punctuation an attacker can spell out. */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', tab: '\t', newline: '\n',
  colon: ':', sol: '/', bsol: '\\', lpar: '(', rpar: ')', semi: ';', equals: '=',
  period: '.', comma: ',', excl: '!', num: '#', dollar: '$', percnt: '%', lsqb: '[',
  rsqb: ']', lbrack: '[', rbrack: ']', lcub: '{', rcub: '}', lbrace: '{', rbrace: '}',
  grave: '`', verbar: '|', vert: '|', ast: '*', midast: '*', plus: '+', quest: '?',
  commat: '@', hyphen: '-', dash: '-', lowbar: '_', hat: '^', dot: '.', ldquo: '"',
  rdquo: '"', lsquo: "'", rsquo: "'",
};
/** Browsers decode these few even without the trailing semicolon. */
const LEGACY_NO_SEMICOLON = new Set(['lt', 'gt', 'amp', 'quot', 'nbsp']);

const UNICODE_ESCAPE = /\\(?:u\{([0-9a-f]{1,6})\}|u([0-9a-f]{4})|x([0-9a-f]{2}))/gi;
const HTML_ENTITY = /&(?:#(\d{1,8})|#x([0-9a-f]{1,7})|([a-z][a-z0-9]{1,31}))(;?)/gi;
const PERCENT_RUN = /(?:%[0-9a-f]{2})+/gi;
const PERCENT_U = /%u([0-9a-f]{4})/gi;

function fromCodePointSafe(cp: number): string {
  if (!Number.isFinite(cp) || cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(cp);
}

function decodeUnicodeEscapes(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(UNICODE_ESCAPE, (_m, braced: string | undefined, u4: string | undefined, x2: string | undefined) =>
    fromCodePointSafe(parseInt((braced ?? u4 ?? x2)!, 16)));
}

function decodeHtmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(HTML_ENTITY, (m, dec: string | undefined, hex: string | undefined, name: string | undefined, semi: string) => {
    if (dec !== undefined) return fromCodePointSafe(parseInt(dec, 10));
    if (hex !== undefined) return fromCodePointSafe(parseInt(hex, 16));
    const key = name!.toLowerCase();
    const ch = NAMED_ENTITIES[key];
    if (ch === undefined) return m;
    if (!semi && !LEGACY_NO_SEMICOLON.has(key)) return m;
    return ch;
  });
}

/**
 * Lenient UTF-8: overlong forms (%c0%ae for '.', %e0%80%af for '/') are decoded to the
 * code point they spell instead of being rejected, because that is exactly what the old
 * decoders an attacker targets did. Bytes that form no sequence stay as `%XX` text.
 */
function decodeBytesLenient(bytes: number[]): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    if (b >= 0xc0 && b < 0xe0) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b < 0xf0) { need = 2; cp = b & 0x0f; }
    else if (b >= 0xf0 && b < 0xf8) { need = 3; cp = b & 0x07; }
    else if (b >= 0xf8 && b < 0xfc) { need = 4; cp = b & 0x03; }
    else if (b >= 0xfc && b < 0xfe) { need = 5; cp = b & 0x01; }
    let ok = need > 0 && i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = cp * 64 + (c & 0x3f);
    }
    if (ok) {
      out += fromCodePointSafe(cp);
      i += need + 1;
    } else {
      out += '%' + b.toString(16).padStart(2, '0');
      i++;
    }
  }
  return out;
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s
    .replace(PERCENT_U, (_m, h: string) => fromCodePointSafe(parseInt(h, 16)))
    .replace(PERCENT_RUN, (run) => {
      const bytes: number[] = [];
      for (let k = 0; k < run.length; k += 3) bytes.push(parseInt(run.slice(k + 1, k + 3), 16));
      return decodeBytesLenient(bytes);
    });
}

/**
 * Undo nested encodings: unicode escapes, HTML entities and percent-encoding, repeated
 * until the text stops changing (double and mixed encodings) or after 4 rounds.
 */
export function decodeLayers(raw: string): string {
  let s = raw;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = percentDecode(decodeHtmlEntities(decodeUnicodeEscapes(s)));
    if (next === s) break;
    s = next;
  }
  return s;
}

/**
 * Look-alike letters from other scripts folded to the Latin letter they imitate, and
 * typographic punctuation folded to ASCII. Applied after lower-casing. Small on purpose:
 * the common confusables used to dodge keyword filters, not the whole Unicode table.
 */
const HOMOGLYPHS: Readonly<Record<string, string>> = {
  // Cyrillic
  'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
  'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
  'һ': 'h', 'ӏ': 'l', 'ь': 'b', 'ʏ': 'y',
  // Greek
  'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
  'υ': 'u', 'χ': 'x', 'ϲ': 'c', 'ϳ': 'j',
  // Armenian and Latin oddities
  'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n', 'ı': 'i', 'ɡ': 'g', 'ɑ': 'a', 'ʟ': 'l',
  // upper-case Cyrillic and Greek, for the pre-decoding pass (before lower-casing)
  'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
  'Х': 'x', 'У': 'y', 'Ѕ': 's', 'І': 'i', 'Ј': 'j', 'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ι': 'i', 'Κ': 'k',
  'Μ': 'm', 'Ν': 'n', 'Ο': 'o', 'Ρ': 'p', 'Τ': 't', 'Χ': 'x', 'Υ': 'y', 'Ζ': 'z',
  // punctuation
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u02bc': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u2215': '/', '\u2044': '/', '\u29f8': '/', '\u29f9': '\\', '\u2216': '\\',
  '\u2028': '\n', '\u2029': '\n',
};
const HOMOGLYPH_RE = new RegExp('[' + Object.keys(HOMOGLYPHS).join('') + ']', 'g');

/** Characters that render as nothing (or are dropped by parsers): removed outright. */
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const COMBINING_MARKS = /\p{M}+/gu;

/**
 * Canonical form for matching: NFKC (fullwidth `＜ｓｃｒｉｐｔ＞` becomes `<script>`),
 * lower case, combining marks stripped, homoglyphs folded, invisible characters and NUL
 * removed (`UN\0ION` becomes `union`), vertical tab and form feed as spaces.
 */
export function canonicalize(decoded: string): string {
  let s = decoded.normalize('NFKC').toLowerCase();
  // NFD then drop marks: "s\u0336cript" and accented look-alikes fold to plain letters.
  if (/[^\x00-\x7f]/.test(s)) {
    s = s.normalize('NFD').replace(COMBINING_MARKS, '').replace(HOMOGLYPH_RE, (c) => HOMOGLYPHS[c]!);
  }
  return s.replace(/[\u000b\u000c]/g, ' ').replace(INVISIBLE, '');
}

/** Whitespace runs (tabs, newlines, NBSP after NFKC) collapsed to one space. */
export function flatten(canon: string): string {
  return canon.replace(/\s+/g, ' ');
}

/** Decoded + canonical form of `raw`, whitespace preserved. */
export function canonicalView(raw: string): string {
  // NFKC and homoglyph folding before decoding as well: fullwidth "％２ｆ" is read as
  // "%2f" by best-fit decoders, and "%2е" with a Cyrillic "е" must still decode.
  const pre = /[^\x00-\x7f]/.test(raw) ? raw.normalize('NFKC').replace(HOMOGLYPH_RE, (c) => HOMOGLYPHS[c]!) : raw;
  return canonicalize(decodeLayers(pre));
}
