/**
 * Batched removal of dead entries (expired, or written by another schema version) from
 * one database. Used by every TTL cache's cleanupExpired().
 */
import type { Database, Key } from 'lmdb';
import { type StoreContext, entryCount, yieldTurn } from './context';

/** Entries read per scan step; a step is one short synchronous read. */
const SCAN_BATCH = 1000;

/**
 * Scans `db` in key order and removes every entry for which `isDead(value, now)` holds.
 * Resolves to the number removed.
 *
 * Each step reads SCAN_BATCH entries, then deletes the dead ones in one write
 * transaction that re-checks each value first: an entry refreshed by a put between the
 * scan and the delete is live again and must survive. The loop yields between steps so
 * a large cache never blocks the event loop for long.
 */
export async function sweepDb<V>(
  ctx: StoreContext,
  db: Database<V, Key>,
  isDead: (value: V, now: number) => boolean,
): Promise<number> {
  let removed = 0;
  let after: Key | undefined;
  for (;;) {
    if (ctx.closed) return removed;
    const now = ctx.now();
    const dead: Key[] = [];
    let scanned = 0;
    let lastKey: Key | undefined;
    const range = db.getRange(after === undefined ? { limit: SCAN_BATCH } : { start: after, exclusiveStart: true, limit: SCAN_BATCH });
    for (const { key, value } of range) {
      scanned++;
      lastKey = key;
      if (isDead(value, now)) dead.push(key);
    }
    if (dead.length > 0) {
      removed += await ctx.root.transaction(() => {
        let n = 0;
        for (const key of dead) {
          const current = db.get(key);
          if (current !== undefined && isDead(current, now) && db.removeSync(key)) n++;
        }
        return n;
      });
    }
    if (scanned < SCAN_BATCH || lastKey === undefined) return removed;
    after = lastKey;
    await yieldTurn();
  }
}

/**
 * Bounds `db` to `maxEntries`: when it holds more, the entries that expire first (the
 * oldest writes, when all share one TTL) are removed until 90 % of the bound is left.
 * `expiryOf` reads an entry's expiry (ms since the epoch; -Infinity for an unreadable
 * one, +Infinity for one that never expires). One read pass collects the expiries, then
 * sweepDb removes the entries at or below the cutoff in yielding steps.
 */
export async function trimByExpiry<V>(
  ctx: StoreContext,
  db: Database<V, Key>,
  maxEntries: number,
  expiryOf: (value: V) => number,
): Promise<{ removed: number; cutoff: number }> {
  if (entryCount(db) <= maxEntries) return { removed: 0, cutoff: -Infinity };
  const expiries: number[] = [];
  for (const { value } of db.getRange({})) expiries.push(expiryOf(value));
  expiries.sort((a, b) => a - b);
  const drop = expiries.length - Math.floor(maxEntries * 0.9);
  if (drop <= 0) return { removed: 0, cutoff: -Infinity };
  const cutoff = expiries[drop - 1]!;
  const removed = await sweepDb(ctx, db, (value) => !(expiryOf(value) > cutoff));
  return { removed, cutoff };
}
