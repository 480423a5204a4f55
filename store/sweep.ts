/**
 * Batched removal of dead entries (expired, or written by another schema version) from
 * one database. Used by every TTL cache's cleanupExpired().
 */
import type { Database, Key } from 'lmdb';
import { type StoreContext, entryCount, yieldTurn } from './context';
import type { ExpiryIndex } from './expiry-index';

/**
 * Entries read per scan step, and removed per write transaction: each step is one short
 * synchronous stretch (~1-2 ms), so requests interleave with a trim. With 1,000, trims
 * running all through a 1,000 req/s load put p99 at 45-58 ms; with 250, 13-28 ms
 * (bench/uncached.ts with OPENSESAME_CACHE_MAX_ENTRIES=20000), for the same CPU.
 */
const SCAN_BATCH = 250;

/**
 * Reads every entry of `db` in key order, SCAN_BATCH entries per synchronous step, and
 * hands each step's entries to `visit`; yields the event loop between steps, so a large
 * cache never blocks it for long (a 150,000-entry answer cache took ~0.3 s to read in
 * one go). Stops early when the store closes.
 */
async function scanInSteps<V, K extends Key>(
  ctx: StoreContext,
  db: Database<V, K>,
  visit: (entries: { key: K; value: V }[]) => Promise<void> | void,
): Promise<void> {
  let after: K | undefined;
  for (;;) {
    if (ctx.closed) return;
    const range = db.getRange(after === undefined ? { limit: SCAN_BATCH } : { start: after, exclusiveStart: true, limit: SCAN_BATCH });
    const entries: { key: K; value: V }[] = [];
    for (const { key, value } of range) entries.push({ key, value });
    await visit(entries);
    if (entries.length < SCAN_BATCH) return;
    after = entries[entries.length - 1]!.key;
    await yieldTurn();
  }
}

/**
 * Removes the entries of `keys` (at most SCAN_BATCH) in one write transaction, each only
 * if `stillDoomed` holds for its current value: a put since the caller looked may have
 * made it live again. Resolves to the number removed.
 */
function removeChecked<V, K extends Key>(ctx: StoreContext, db: Database<V, K>, keys: readonly K[], stillDoomed: (current: V, i: number) => boolean): Promise<number> {
  return ctx.root.transaction(() => {
    let n = 0;
    keys.forEach((key, i) => {
      const current = db.get(key);
      if (current !== undefined && stillDoomed(current, i) && db.removeSync(key)) n++;
    });
    return n;
  });
}

/**
 * Scans `db` in key order and removes every entry for which `isDead(value, now)` holds.
 * Resolves to the number removed.
 *
 * Each step reads SCAN_BATCH entries, then deletes the dead ones in one write
 * transaction that re-checks each value first: an entry refreshed by a put between the
 * scan and the delete is live again and must survive.
 */
export async function sweepDb<V>(
  ctx: StoreContext,
  db: Database<V, Key>,
  isDead: (value: V, now: number) => boolean,
): Promise<number> {
  let removed = 0;
  await scanInSteps(ctx, db, async (entries) => {
    const now = ctx.now();
    const dead = entries.filter((e) => isDead(e.value, now)).map((e) => e.key);
    if (dead.length > 0) removed += await removeChecked(ctx, db, dead, (current) => isDead(current, now));
  });
  return removed;
}

/**
 * Bounds `db` to `maxEntries`: when it holds more, the entries that expire first (the
 * oldest writes, when all share one TTL) are removed until 90 % of the bound is left.
 * `expiryOf` reads an entry's expiry (ms since the epoch; -Infinity for an unreadable
 * one, +Infinity for one that never expires).
 *
 * One read pass collects every key with its expiry; the keys at or below the cutoff are
 * then removed SCAN_BATCH per write transaction, each re-checked first (a put since the
 * read may have made it live again). Both passes yield between steps. (Sweeping the whole
 * database again for the cutoff read every kept entry a second time.)
 */
export async function trimByExpiry<V, K extends Key = Key>(
  ctx: StoreContext,
  db: Database<V, K>,
  maxEntries: number,
  expiryOf: (value: V) => number,
  /** Handed the keys and expiries of the entries the trim keeps, when it scanned (ExpiryIndex.adopt). */
  survivors?: (keys: K[], expiries: number[]) => void,
): Promise<{ removed: number; cutoff: number }> {
  if (entryCount(db) <= maxEntries) return { removed: 0, cutoff: -Infinity };
  const keys: K[] = [];
  const expiries: number[] = [];
  await scanInSteps(ctx, db, (entries) => {
    for (const { key, value } of entries) {
      keys.push(key);
      expiries.push(expiryOf(value));
    }
  });
  const drop = expiries.length - Math.floor(maxEntries * 0.9);
  // A typed-array sort: numeric without a comparator call per pair (~10 ms less per 50,000).
  const cutoff = drop > 0 ? Float64Array.from(expiries).sort()[drop - 1]! : -Infinity;
  const kept = (i: number) => expiries[i]! > cutoff;
  survivors?.(keys.filter((_, i) => kept(i)), expiries.filter((_, i) => kept(i)));
  if (drop <= 0) return { removed: 0, cutoff };
  const doomed = keys.filter((_, i) => !kept(i));
  let removed = 0;
  for (let at = 0; at < doomed.length && !ctx.closed; at += SCAN_BATCH) {
    removed += await removeChecked(ctx, db, doomed.slice(at, at + SCAN_BATCH), (current) => !(expiryOf(current) > cutoff));
    await yieldTurn();
  }
  return { removed, cutoff };
}

/**
 * Bounds `db` to `maxEntries` like trimByExpiry, from a complete ExpiryIndex: pops the
 * soonest-expiring items and removes their entries, SCAN_BATCH per write transaction,
 * until 90 % of the bound is left. Reads only the entries it looks at for removal. An
 * item whose entry is gone or carries another expiry (written again since) is stale and
 * skipped. `expiryOf` reads the expiry stored in a value, expired or not.
 */
export async function trimByIndex<V>(
  ctx: StoreContext,
  db: Database<V, string>,
  index: ExpiryIndex,
  maxEntries: number,
  expiryOf: (value: V) => number,
): Promise<{ removed: number; cutoff: number }> {
  const count = entryCount(db);
  if (count <= maxEntries) return { removed: 0, cutoff: -Infinity };
  const excess = count - Math.floor(maxEntries * 0.9);
  let removed = 0;
  let cutoff = -Infinity;
  while (removed < excess && index.size > 0 && !ctx.closed) {
    const step: { key: string; expiry: number }[] = [];
    while (step.length < Math.min(SCAN_BATCH, excess - removed) && index.size > 0) step.push(index.pop()!);
    cutoff = step[step.length - 1]!.expiry;
    removed += await removeChecked(ctx, db, step.map((item) => item.key), (current, i) => expiryOf(current) === step[i]!.expiry);
    await yieldTurn();
  }
  return { removed, cutoff };
}

/**
 * A cache's trim to its bound: by its expiry index once that covers every entry, else by
 * a scan (trimByExpiry, ranking entries by `scanExpiryOf`) that hands the survivors to
 * the index and so completes it. `expiryOf` reads the expiry stored in a value.
 */
export function trimToBound<V>(
  ctx: StoreContext,
  db: Database<V, string>,
  index: ExpiryIndex,
  maxEntries: number,
  expiryOf: (value: V) => number,
  scanExpiryOf: (value: V) => number = expiryOf,
): Promise<{ removed: number; cutoff: number }> {
  if (index.isComplete) return trimByIndex(ctx, db, index, maxEntries, expiryOf);
  const now = ctx.now();
  return trimByExpiry(ctx, db, maxEntries, scanExpiryOf, (keys, expiries) => index.adopt(keys, expiries, now));
}
