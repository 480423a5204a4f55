/**
 * Personal-data detectors: email addresses, phone numbers, US social security numbers
 * and payment card numbers. They run on the decoded canonical text (so `john%40x.com`
 * and fullwidth digits are seen) and ask for the *shape* of the datum, not a keyword:
 * "what's the email endpoint?" passes, "mail bob@example.com" does not.
 *
 * Phones need phone formatting (separators, `+` country code, a trunk `0` with groups,
 * or a "phone:"-style label), so ids, years, order numbers, dates, IPs and versions pass.
 * Card numbers must pass Luhn and start with a real issuer prefix.
 */
import type { PiiRule } from './types';

const EMAIL = /(?<![\w.%+-])[a-z0-9][\w.%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.){1,8}[a-z]{2,24}(?![\w-])/;
/** "john [at] example [dot] com", "john(at)example(dot)com", "john at example dot com". */
const EMAIL_SPELLED =
  /\b[a-z0-9][\w.+-]{0,63}\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*[a-z0-9][\w-]{0,62}\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*[a-z]{2,24}\b/;

/** (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567, +1 555 123 4567. */
const PHONE_NANP = /(?<![\w+\-./])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w\-/]|[.,]\d)/g;
/** +44 20 7946 0958, +33 1 23 45 67 89, +49 30 12345678, +91 98765 43210. */
const PHONE_INTL = /(?<![\w+])\+[1-9]\d{0,2}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,5}){1,4}(?![\w\-/]|[.,]\d)/g;
/** 020 7946 0958, 07700 900123, 01 23 45 67 89, 030 12345678, 03-1234-5678. */
const PHONE_TRUNK = /(?<![\w+\-./])0\d{1,4}(?:(?:[\s-]\d{2,4}){2,4}|[\s-]\d{5,8})(?![\w\-/]|[.,]\d)/g;
/** "phone: 5551234567", "mobile 07700900123": a label, then a digit run. */
const PHONE_LABELLED =
  /\b(?:phone|tel|telephone|mobile|cell|cellphone|fax|whatsapp|sms|call me|text me)\b[^\d\n]{0,20}(\+?\d[\d\s().-]{5,20}\d)(?!\d)/g;

/** 123-45-6789 anywhere, or any 9 digits after an "SSN" label. */
const SSN_DASHED = /(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])/g;
const SSN_LABELLED = /\b(?:ssn|ss#|social security(?:\s+(?:number|no\.?|#))?)\b[^\d\n]{0,20}(\d{3})[\s.-]?(\d{2})[\s.-]?(\d{4})(?!\d)/g;

/** 4111 1111 1111 1111, 3782-822463-10005 (one separator kind), or 13..19 bare digits. */
const CARD_GROUPED = /(?<![\w.,-])\d{4,6}([ .-])\d{3,6}(?:\1\d{3,6}){1,3}(?![\w-]|[.,]\d)/g;
const CARD_BARE = /(?<![\w.,-])\d{13,19}(?![\w-]|[.,]\d)/g;

/** Words that make a number an identifier of something else, not a person's datum. */
const REFERENCE_CONTEXT =
  /(?:\b(?:order|invoice|ticket|ref|reference|sku|tracking|case|serial|part|isbn|confirmation|booking|transaction|shipment|id)|#)\s*(?:no\.?|number|num|id)?\s*[:#=]?\s*$/;

function digitsOf(s: string): string {
  return s.replace(/\D/g, '');
}

function precededByReference(text: string, index: number): boolean {
  return REFERENCE_CONTEXT.test(text.slice(Math.max(0, index - 30), index));
}

/** Luhn checksum over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Issuer prefix and length of the major networks (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro). */
function plausibleCard(d: string): boolean {
  const n = d.length;
  if (n < 13 || n > 19) return false;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)) return n >= 16;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16;
  if (p2 === 62) return n >= 16;
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12;
  return false;
}

function validSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

function anyMatch(re: RegExp, text: string, accept: (m: RegExpExecArray) => boolean): boolean {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (accept(m)) {
      re.lastIndex = 0;
      return true;
    }
  }
  return false;
}

function hasCard(text: string): boolean {
  const ok = (m: RegExpExecArray, bare: boolean): boolean => {
    const d = digitsOf(m[0]);
    if (!plausibleCard(d) || !luhnValid(d)) return false;
    return !(bare && precededByReference(text, m.index));
  };
  return anyMatch(CARD_GROUPED, text, (m) => ok(m, false)) || anyMatch(CARD_BARE, text, (m) => ok(m, true));
}

function hasSsn(text: string): boolean {
  const ok = (m: RegExpExecArray): boolean => validSsn(m[1]!, m[2]!, m[3]!);
  return anyMatch(SSN_DASHED, text, ok) || anyMatch(SSN_LABELLED, text, ok);
}

function hasPhone(text: string): boolean {
  const formatted = (min: number, max: number) => (m: RegExpExecArray): boolean => {
    const n = digitsOf(m[0]).length;
    return n >= min && n <= max && !precededByReference(text, m.index);
  };
  if (anyMatch(PHONE_NANP, text, formatted(10, 11))) return true;
  if (anyMatch(PHONE_INTL, text, formatted(8, 15))) return true;
  if (anyMatch(PHONE_TRUNK, text, formatted(9, 11))) return true;
  return anyMatch(PHONE_LABELLED, text, (m) => {
    const n = digitsOf(m[1]!).length;
    return n >= 7 && n <= 15;
  });
}

/**
 * The first kind of personal data found in `canon` (decoded, lower-cased text), checked
 * in the order card, SSN, email, phone: the more specific shapes first, so a dashed SSN
 * is not reported as a phone.
 */
export function detectPii(canon: string): PiiRule | undefined {
  if (!/\d|@|\bat\b/.test(canon)) return undefined;
  if (hasCard(canon)) return 'pii_credit_card';
  if (hasSsn(canon)) return 'pii_ssn';
  if (EMAIL.test(canon) || EMAIL_SPELLED.test(canon)) return 'pii_email';
  if (hasPhone(canon)) return 'pii_phone';
  return undefined;
}
