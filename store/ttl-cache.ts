/**
 * A key -> value cache with a per-entry time to live, over one binary database.
 * Expired entries read as misses at once; cleanupExpired() reclaims their space later.
 *
 * Stored value, a frame whose expiry is read without decoding the value:
 *
 *   offset 0   u8   schema version (SCHEMA_VERSION)
 *   offset 1   u8   reserved (0) x 7, which keeps the f64 aligned
 *   offset 8   f64  expiresAt in ms since the epoch, little-endian
 *   offset 16  the value, msgpack (the bytes lmdb-js's own msgpack encoding gives)
 *
 * Sweeps and trims read every entry's expiry. Decoding a cached answer costs ~15 us, so
 * with the expiry inside the msgpack record (schema 3) trimming a 56,000-entry answer
 * cache to its bound took 2.9 s of the main thread's CPU; reading the header instead,
 * 0.3 s (bench/cache-trim.ts). Trims by the cache's expiry index read no more than they
 * remove; the header is what they check each entry's expiry by.
 */
import type { Database } from 'lmdb';
import { Packr } from 'msgpackr';
import { type StoreContext, assertWritable, cacheKey, entryCount, removeKey } from './context';
import { badArgument } from './errors';
import { SCHEMA_VERSION } from './schema';
import { ExpiryIndex } from './expiry-index';
import { sweepDb, trimToBound } from './sweep';

/** Hit/miss counters of one cache in this process, and its entry count on disk. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries on disk, including expired ones not yet cleaned up. */
  size: number;
}

/** A decoded entry: its expiry (ms since the epoch) and value. */
interface TtlRecord<T> {
  e: number;
  d: T;
}

export const TTL_HEADER_BYTES = 16;

/**
 * Options as lmdb-js gives its msgpack databases (no shared structures: every value
 * stands alone), so answers encode to the bytes answer-dictionary.ts was made from.
 */
const packr = new Packr({ copyBuffers: true });

/** Validates a TTL in seconds and turns it into an absolute expiry. */
export function expiryFrom(now: number, ttlSeconds: number): number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw badArgument(`ttlSeconds must be a finite number > 0, got ${String(ttlSeconds)}`);
  }
  return now + ttlSeconds * 1000;
}

/** The stored frame of `value`. Always a fresh buffer. */
export function encodeTtlFrame(expiresAt: number, value: unknown): Buffer {
  const body = packr.pack(value); // a view of the packer's own buffer, valid until its next pack
  const buf = Buffer.allocUnsafe(TTL_HEADER_BYTES + body.length);
  buf.fill(0, 0, 8);
  buf.writeUInt8(SCHEMA_VERSION, 0);
  buf.writeDoubleLE(expiresAt, 8);
  buf.set(body, TTL_HEADER_BYTES);
  return buf;
}

/**
 * The expiry of a stored frame, or -Infinity when `buf` is not a frame of this schema
 * version (an older record, a truncated one, not a buffer at all). Reads 16 bytes.
 */
export function frameExpiry(buf: unknown): number {
  // `length`, not `byteLength`: lmdb-js's borrowed read buffers override only `length`.
  if (!(buf instanceof Uint8Array) || buf.length <= TTL_HEADER_BYTES || buf[0] !== SCHEMA_VERSION) return -Infinity;
  const e = new DataView(buf.buffer, buf.byteOffset, TTL_HEADER_BYTES).getFloat64(8, true);
  return Number.isFinite(e) ? e : -Infinity;
}

/** Decodes a stored frame, or undefined when it is not one of this schema version or does not decode. */
function decodeFrame<T>(buf: unknown): TtlRecord<T> | undefined {
  const e = frameExpiry(buf);
  if (e === -Infinity) return undefined;
  const bytes = buf as Uint8Array;
  try {
    return { e, d: packr.unpack(bytes.subarray(TTL_HEADER_BYTES, bytes.length)) as T };
  } catch {
    return undefined;
  }
}

/** An expiry as trims rank it: an entry already expired counts as unreadable (-Infinity). */
function liveExpiry(e: number, now: number): number {
  return e > now ? e : -Infinity;
}

function liveValue<T>(record: TtlRecord<T> | undefined, now: number): T | undefined {
  return record === undefined || now >= record.e ? undefined : record.d;
}

export class TtlCache<T> {
  private hits = 0;
  private misses = 0;
  /**
   * Records written but not yet committed. lmdb-js commits asynchronously (and puts are
   * batched, write-behind.ts), so without this a repeat of a request that arrives within
   * the commit window would miss.
   */
  private readonly pending = new Map<string, TtlRecord<T>>();
  /**
   * Recently read records in memory, least recently used first (Map order), in front of
   * LMDB: a hit on one of them neither reads nor decodes. Holds the stored value itself,
   * so values must not be mutated by callers. Disabled when memoryEntries is 0.
   */
  private readonly memory = new Map<string, TtlRecord<T>>();
  /** This cache's writes by expiry, for trims that read only what they remove. */
  private readonly index: ExpiryIndex;

  constructor(
    private readonly ctx: StoreContext,
    private readonly db: Database<Buffer, string>,
    private readonly name: string,
    private readonly memoryEntries = 0,
  ) {
    this.index = new ExpiryIndex(entryCount(db) === 0);
  }

  /** The live value for `key`, or undefined (absent, expired, or another schema version). */
  get(key: string): T | undefined {
    const k = cacheKey(key);
    const now = this.ctx.now();
    let record = this.memory.get(k);
    if (record !== undefined) {
      const value = liveValue<T>(record, now);
      if (value !== undefined) {
        this.hits++;
        // Most recently used goes last.
        this.memory.delete(k);
        this.memory.set(k, record);
        return value;
      }
      this.memory.delete(k);
    }
    // getBinaryFast lends lmdb-js's read buffer until the next read: decoded at once.
    record = this.pending.get(k) ?? decodeFrame<T>(this.db.getBinaryFast(k));
    const value = liveValue<T>(record, now);
    if (value === undefined) this.misses++;
    else {
      this.hits++;
      this.remember(k, record!);
    }
    return value;
  }

  private remember(k: string, record: TtlRecord<T>): void {
    if (this.memoryEntries <= 0) return;
    this.memory.delete(k);
    this.memory.set(k, record);
    if (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value as string);
  }

  /** Stores `value` for `ttlSeconds` (> 0). Resolves when committed. */
  async put(key: string, value: T, ttlSeconds: number): Promise<void> {
    assertWritable(this.ctx, `${this.name}.put`);
    const now = this.ctx.now();
    const record: TtlRecord<T> = { e: expiryFrom(now, ttlSeconds), d: value };
    const k = cacheKey(key);
    this.pending.set(k, record);
    this.index.push(k, record.e, now);
    // Memory admits a record when it is read back, not when it is written: under a stream
    // of unique prompts, answers never asked for again would otherwise fill it, and each
    // one outlived the young generation only to die in the old one (major GCs at the
    // request rate). A stale copy of an overwritten key must not be served either.
    this.memory.delete(k);
    try {
      await this.ctx.cacheWrites.add(() => this.db.put(k, encodeTtlFrame(record.e, record.d)));
    } finally {
      if (this.pending.get(k) === record) this.pending.delete(k);
    }
  }

  /** Removes `key`; resolves to whether it existed. */
  async delete(key: string): Promise<boolean> {
    assertWritable(this.ctx, `${this.name}.delete`);
    const k = cacheKey(key);
    this.memory.delete(k);
    // A put still queued would land after the delete and resurrect the entry.
    this.ctx.cacheWrites.flush();
    this.pending.delete(k);
    return removeKey(this.ctx, this.db, k);
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, size: entryCount(this.db) };
  }

  /** Removes expired (and unreadable) entries; resolves to the number removed. */
  async cleanupExpired(): Promise<number> {
    assertWritable(this.ctx, `${this.name}.cleanupExpired`);
    const removed = await sweepDb(this.ctx, this.db, (frame, now) => !(frameExpiry(frame) > now));
    this.forgetMemory((r) => liveValue(r, this.ctx.now()) === undefined);
    return removed;
  }

  /** Drops the in-memory records `dead` selects (the ones a sweep removed from disk). */
  private forgetMemory(dead: (record: TtlRecord<T>) => boolean): void {
    for (const [k, r] of this.memory) if (dead(r)) this.memory.delete(k);
  }

  /**
   * Bounds the cache on disk: when it holds more than `maxEntries`, the entries that
   * expire first (the oldest writes, all having the same TTL) are removed until 90 % of
   * the bound is left. The TTL alone does not bound a cache under a stream of unique
   * requests (seen: ~2.8 KB per unique prompt, gigabytes per hour at full load). Goes by
   * the expiry index, or, while that does not cover every entry yet (the cache was
   * opened on existing entries), by a scan that completes it.
   */
  async trimTo(maxEntries: number): Promise<number> {
    assertWritable(this.ctx, `${this.name}.trimTo`);
    const now = this.ctx.now();
    const { removed, cutoff } = await trimToBound(this.ctx, this.db, this.index, maxEntries, frameExpiry, (frame) => liveExpiry(frameExpiry(frame), now));
    if (removed > 0) this.forgetMemory((r) => !(liveExpiry(r.e, now) > cutoff));
    return removed;
  }

}

/** What the URL-spec cache returns: the fetched document text and when it was fetched. */
export interface UrlSpecEntry {
  raw: string;
  /** ms since the epoch. */
  fetchedAt: number;
}

/** Raw spec documents fetched by URL, re-fetched by the server once their TTL passes. */
export class UrlSpecCache {
  private readonly cache: TtlCache<UrlSpecEntry>;

  constructor(private readonly ctx: StoreContext, db: Database<Buffer, string>) {
    this.cache = new TtlCache<UrlSpecEntry>(ctx, db, 'urlSpecs');
  }

  /** The cached document, or undefined when absent or older than its TTL. */
  get(url: string): UrlSpecEntry | undefined {
    const entry = this.cache.get(url);
    // Guard the inner shape too: a record of the right version but wrong shape is a miss.
    if (entry === undefined || typeof entry.raw !== 'string' || typeof entry.fetchedAt !== 'number') return undefined;
    return { raw: entry.raw, fetchedAt: entry.fetchedAt };
  }

  async put(url: string, raw: string, ttlSeconds: number): Promise<void> {
    if (typeof raw !== 'string') throw badArgument('urlSpecs.put: raw must be a string');
    return this.cache.put(url, { raw, fetchedAt: this.ctx.now() }, ttlSeconds);
  }

  delete(url: string): Promise<boolean> {
    return this.cache.delete(url);
  }

  stats(): CacheStats {
    return this.cache.stats();
  }

  cleanupExpired(): Promise<number> {
    return this.cache.cleanupExpired();
  }
}
