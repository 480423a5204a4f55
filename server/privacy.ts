/**
 * Privacy helpers: user identifiers and client addresses are only ever kept as salted
 * hashes (rate-limit keys, logs, metrics labels), and cache keys are hashes of the
 * request parts, so no prompt text or user id is stored in clear.
 */
import { createHash, createHmac } from 'node:crypto';

/**
 * Salted hash of a user identifier: HMAC-SHA256 keyed by `salt`, hex, first 16 chars
 * (64 bits — ample to keep users apart in a rate-limit table, too short to be a useful
 * fingerprint outside it). A keyed hash, so ids cannot be recovered by hashing guesses
 * without the salt.
 */
export function hashUserId(id: string, salt: string): string {
  return createHmac('sha256', salt).update(String(id), 'utf8').digest('hex').slice(0, 16);
}

/**
 * Hash of an ordered list of strings (e.g. spec id, prompt, history, k) for cache keys:
 * SHA-256 over length-prefixed parts, so ["ab", "c"] and ["a", "bc"] differ. Hex, 32
 * chars (128 bits).
 */
export function hashPromptKey(parts: string[]): string {
  const h = createHash('sha256');
  const len = Buffer.allocUnsafe(4);
  for (const part of parts) {
    const bytes = Buffer.from(String(part), 'utf8');
    len.writeUInt32BE(bytes.length, 0);
    h.update(len);
    h.update(bytes);
  }
  return h.digest('hex').slice(0, 32);
}

/**
 * Canonical text of a client address for keying: IPv4-mapped IPv6 as plain IPv4, IPv6
 * reduced to its /64 prefix (one subscriber usually holds a whole /64, so per-address
 * limits on full IPv6 addresses are trivially dodged), anything unparseable as-is.
 */
export function normalizeClientAddress(address: string): string {
  const a = String(address ?? '').trim().toLowerCase().replace(/^\[|\]$/g, '');
  const mapped = /^(?:0{0,4}:){0,5}(?::|0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const groups = expandIpv6(a.replace(/%.*$/, ''));
  if (groups === undefined) return a;
  // uWebSockets.js reports IPv4 peers as hex IPv4-mapped IPv6 ("0000:…:ffff:7f00:0001").
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = parseInt(groups[6]!, 16);
    const lo = parseInt(groups[7]!, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return groups.slice(0, 4).join(':') + '::/64';
}

function expandIpv6(a: string): string[] | undefined {
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const all = [...head, ...new Array<string>(Math.max(0, missing)).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => g.replace(/^0+(?=.)/, ''));
}

/**
 * Rate-limit / analytics key for a request: the hashed `X-User-ID` when the client sent
 * a non-blank one, else the hashed, normalised client address. The two are namespaced
 * ("u:" / "a:") so a user id can never collide with an address.
 */
export function userKeyFromRequest(headerUserId: string | undefined, clientAddress: string, salt: string): string {
  const id = typeof headerUserId === 'string' ? headerUserId.trim() : '';
  if (id.length > 0) return 'u:' + hashUserId(id, salt);
  return 'a:' + hashUserId(normalizeClientAddress(clientAddress), salt);
}
