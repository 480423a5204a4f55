/**
 * Float32 vectors in binary databases (layout in vector-codec.ts):
 * - EmbeddingCache: prompt text (+ model) -> one embedding, optional TTL.
 * - EndpointEmbeddings: catalog hash (+ model) -> rows x dims matrix, one row per endpoint.
 * Callers fold the embedding model's id into the key: a vector from another model is a
 * different entry, not a stale one.
 */
import type { Database } from 'lmdb';
import { type StoreContext, assertWritable, cacheKey, entryCount, removeKey } from './context';
import { badArgument } from './errors';
import { type CacheStats, expiryFrom } from './ttl-cache';
import { copyPayload, decodeHeader, encodeVectors } from './vector-codec';
import { ExpiryIndex } from './expiry-index';
import { sweepDb, trimToBound } from './sweep';

type BinaryDb = Database<Buffer, string>;

function checkVector(data: unknown, dims: number, what: string): asserts data is Float32Array {
  if (!(data instanceof Float32Array)) throw badArgument(`${what}: expected a Float32Array`);
  if (!Number.isInteger(dims) || dims <= 0 || dims > 0xffffffff) throw badArgument(`${what}: dims must be a positive integer`);
  if (data.length === 0 || data.length % dims !== 0) {
    throw badArgument(`${what}: length ${data.length} is not a positive multiple of dims ${dims}`);
  }
}

function isDeadVector(buf: Uint8Array, now: number): boolean {
  const header = decodeHeader(buf);
  return header === undefined || (header.expiresAt !== 0 && now >= header.expiresAt);
}

/** A vector record's expiry as trims rank it: no TTL last, unreadable first. */
function vectorExpiry(buf: Uint8Array): number {
  const header = decodeHeader(buf);
  return header === undefined ? -Infinity : header.expiresAt === 0 ? Infinity : header.expiresAt;
}

export class EmbeddingCache {
  private hits = 0;
  private misses = 0;
  /** Encoded records written but not committed yet (puts are batched: write-behind.ts). */
  private readonly pending = new Map<string, Buffer>();

  /** This cache's writes by expiry, for trims that read only what they remove. */
  private readonly index: ExpiryIndex;

  constructor(private readonly ctx: StoreContext, private readonly db: BinaryDb) {
    this.index = new ExpiryIndex(entryCount(db) === 0);
  }

  /** A copy of the cached vector, or undefined (absent, expired, other schema version). */
  get(key: string): Float32Array | undefined {
    const k = cacheKey(key);
    // getBinaryFast borrows lmdb's shared read buffer; copyPayload makes the only copy.
    const buf = this.pending.get(k) ?? this.db.getBinaryFast(k);
    const header = buf === undefined ? undefined : decodeHeader(buf);
    if (buf === undefined || header === undefined || header.rows !== 1 || (header.expiresAt !== 0 && this.ctx.now() >= header.expiresAt)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return copyPayload(buf, header);
  }

  /**
   * Stores `vec`. Without `ttlSeconds` the entry lives until the schema changes or it is
   * deleted: an embedding of a fixed text by a fixed model never goes stale.
   */
  async put(key: string, vec: Float32Array, ttlSeconds?: number): Promise<void> {
    assertWritable(this.ctx, 'embeddings.put');
    checkVector(vec, vec.length, 'embeddings.put');
    const expiresAt = ttlSeconds === undefined ? 0 : expiryFrom(this.ctx.now(), ttlSeconds);
    const k = cacheKey(key);
    const buf = encodeVectors(vec, vec.length, expiresAt);
    this.pending.set(k, buf);
    this.index.push(k, expiresAt === 0 ? Infinity : expiresAt, this.ctx.now()); // as vectorExpiry reads it back
    try {
      await this.ctx.cacheWrites.add(() => this.db.put(k, buf));
    } finally {
      if (this.pending.get(k) === buf) this.pending.delete(k);
    }
  }

  async delete(key: string): Promise<boolean> {
    assertWritable(this.ctx, 'embeddings.delete');
    this.ctx.cacheWrites.flush(); // a queued put must not land after the delete
    this.pending.delete(cacheKey(key));
    return removeKey(this.ctx, this.db, cacheKey(key));
  }

  stats(): CacheStats {
    return { hits: this.hits, misses: this.misses, size: entryCount(this.db) };
  }

  async cleanupExpired(): Promise<number> {
    assertWritable(this.ctx, 'embeddings.cleanupExpired');
    return sweepDb(this.ctx, this.db, isDeadVector);
  }

  /**
   * Bounds the cache on disk like TtlCache.trimTo: above `maxEntries`, the entries that
   * expire first go (entries without a TTL last, unreadable ones first).
   */
  async trimTo(maxEntries: number): Promise<number> {
    assertWritable(this.ctx, 'embeddings.trimTo');
    return (await trimToBound(this.ctx, this.db, this.index, maxEntries, vectorExpiry)).removed;
  }
}

/** A row-major matrix of endpoint embeddings. */
export interface EmbeddingMatrix {
  rows: number;
  dims: number;
  /** rows * dims floats; row i is endpoint i of the catalog. */
  data: Float32Array;
}

export class EndpointEmbeddings {
  constructor(private readonly ctx: StoreContext, private readonly db: BinaryDb) {}

  /** A copy of the matrix stored under `key`, or undefined. */
  get(key: string): EmbeddingMatrix | undefined {
    const buf = this.db.getBinaryFast(cacheKey(key));
    const header = buf === undefined ? undefined : decodeHeader(buf);
    if (buf === undefined || header === undefined) return undefined;
    return { rows: header.rows, dims: header.dims, data: copyPayload(buf, header) };
  }

  /** Stores `data` (a whole number of `dims`-wide rows) under `key`. */
  async put(key: string, data: Float32Array, dims: number): Promise<void> {
    assertWritable(this.ctx, 'endpointEmbeddings.put');
    checkVector(data, dims, 'endpointEmbeddings.put');
    await this.db.put(cacheKey(key), encodeVectors(data, dims, 0));
  }

  async delete(key: string): Promise<boolean> {
    assertWritable(this.ctx, 'endpointEmbeddings.delete');
    return removeKey(this.ctx, this.db, cacheKey(key));
  }
}
