/**
 * State shared by every store module: the one root environment, the mode, the clock,
 * and helpers for the rules every record follows (schema version, key size).
 */
import { createHash } from 'node:crypto';
import type { Database, Key, RootDatabase } from 'lmdb';
import { StoreError, readOnlyError } from './errors';
import type { WriteBehind } from './write-behind';

export interface StoreContext {
  readonly root: RootDatabase;
  readonly readOnly: boolean;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly now: () => number;
  closed: boolean;
  /** Batches the cache databases' puts into few transactions (write-behind.ts). */
  readonly cacheWrites: WriteBehind;
}

/**
 * Throws when a write is not allowed. Call it first thing inside an `async` write method,
 * so the throw becomes a rejection (promise-returning functions reject, never throw).
 */
export function assertWritable(ctx: StoreContext, operation: string): void {
  if (ctx.closed) throw new StoreError('STORE_CLOSED', `store: ${operation} after close()`);
  if (ctx.readOnly) throw readOnlyError(operation);
}

/*
 * LMDB refuses keys longer than its compiled maximum (1978 bytes in lmdb-js), and a
 * throw from a cache put for a very long URL or prompt would be a silly fault. Keys above
 * this bound are replaced by a digest; the prefix makes a collision with a real short
 * key impossible (no caller key starts with "\u0000sha256:").
 */
const MAX_PLAIN_KEY_BYTES = 1024;

/** The LMDB key for a caller-supplied string key (long keys are hashed). */
export function cacheKey(key: string): string {
  if (key.length * 3 <= MAX_PLAIN_KEY_BYTES || Buffer.byteLength(key) <= MAX_PLAIN_KEY_BYTES) return key;
  return '\u0000sha256:' + createHash('sha256').update(key).digest('hex');
}

/** Entry count from LMDB's own statistics: O(1), no scan. */
export function entryCount(db: { getStats(): object }): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

/** Yields to the event loop so long scans don't stall request handling. */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Removes `key`, resolving to whether it existed. lmdb's async remove() resolves true
 * even for a missing key, so the removal runs in a transaction where removeSync reports
 * the truth. Deletes are rare (admin paths), so the extra transaction is cheap enough.
 */
export function removeKey<K extends Key>(ctx: StoreContext, db: Database<unknown, K> | Database<Buffer, K>, key: K): Promise<boolean> {
  return ctx.root.transaction(() => (db as Database<unknown, K>).removeSync(key));
}
