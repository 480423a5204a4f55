/**
 * The entries a cache has written, as a min-heap on expiry: the soonest-expiring entries
 * without reading the database. Bounding a cache with it reads only the entries it
 * removes (trimByIndex in sweep.ts); a scan (trimByExpiry) reads every entry. Trimming
 * 56,000 cached answers to 45,000 in one run of bench/cache-trim.ts: 349 ms of the main
 * thread's CPU by a scan, 92 ms by the index (what is left is LMDB's own work per
 * delete). It costs ~4 MB of memory per 50,000 keys.
 *
 * An item can be stale: its entry was written again (a newer item follows), swept,
 * deleted or trimmed by a scan. The trim tells those apart by the expiry on disk. Items
 * already expired are dropped as new ones come in, so the heap holds about as many items
 * as the cache holds live entries.
 *
 * The index is complete only when every entry on disk was written through it. A cache
 * opened on existing entries starts incomplete; its first trim is a scan, which hands
 * the survivors over (adopt).
 */
export class ExpiryIndex {
  private keys: string[] = [];
  private expiries: number[] = [];
  private complete: boolean;

  constructor(complete: boolean) {
    this.complete = complete;
  }

  /** Whether every entry on disk has an item here. */
  get isComplete(): boolean {
    return this.complete;
  }

  get size(): number {
    return this.keys.length;
  }

  /** Records a write of `key` expiring at `expiry`, and drops up to two items already expired before `now`. */
  push(key: string, expiry: number, now: number): void {
    for (let n = 0; n < 2 && this.keys.length > 0 && this.expiries[0]! <= now; n++) this.pop();
    let at = this.keys.length;
    this.keys.push(key);
    this.expiries.push(expiry);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!(this.expiries[parent]! > expiry)) break;
      this.keys[at] = this.keys[parent]!;
      this.expiries[at] = this.expiries[parent]!;
      at = parent;
    }
    this.keys[at] = key;
    this.expiries[at] = expiry;
  }

  /** The item with the soonest expiry, removed from the index; undefined when empty. */
  pop(): { key: string; expiry: number } | undefined {
    const size = this.keys.length;
    if (size === 0) return undefined;
    const top = { key: this.keys[0]!, expiry: this.expiries[0]! };
    const key = this.keys.pop()!;
    const expiry = this.expiries.pop()!;
    if (size > 1) this.siftDown(key, expiry);
    return top;
  }

  /** The survivors of a scan of the whole database: from now on the index is complete. */
  adopt(keys: readonly string[], expiries: readonly number[], now: number): void {
    for (let i = 0; i < keys.length; i++) this.push(keys[i]!, expiries[i]!, now);
    this.complete = true;
  }

  /** Places `key` (taken from the end) from the root down to where it belongs. */
  private siftDown(key: string, expiry: number): void {
    const size = this.keys.length;
    let at = 0;
    for (let c = 1; c < size; c = 2 * at + 1) {
      if (c + 1 < size && this.expiries[c + 1]! < this.expiries[c]!) c++;
      if (!(this.expiries[c]! < expiry)) break;
      this.keys[at] = this.keys[c]!;
      this.expiries[at] = this.expiries[c]!;
      at = c;
    }
    this.keys[at] = key;
    this.expiries[at] = expiry;
  }
}
