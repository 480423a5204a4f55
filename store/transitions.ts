/**
 * Feature store: how often one endpoint followed another, per spec. The ranker's bigram
 * and trigram transition probabilities are count / total from here.
 *
 * Array keys, ordered by lmdb, so one spec's counters are one contiguous range:
 *
 *   [specId, 'u', prev]                 times `prev` was followed by any call (bigram total)
 *   [specId, 'b', prev, next]           times `prev` -> `next`
 *   [specId, 'p', prev2, prev1]         times the pair was followed by any call (trigram total)
 *   [specId, 't', prev2, prev1, next]   times `prev2, prev1` -> `next`
 *   [specId, 'v']                       write counter, bumped by every addSequence
 *
 * Values are CountRecords: [SCHEMA_VERSION, count].
 */
import type { Database, Key } from 'lmdb';
import { type StoreContext, assertWritable } from './context';
import { badArgument } from './errors';
import { SCHEMA_VERSION, readCount } from './schema';

/**
 * Upper bound on the summed UTF-8 length of the strings in one key. LMDB rejects keys
 * over 1978 bytes; an n-gram of absurdly long ids is skipped rather than failing the
 * whole sequence.
 */
const MAX_KEY_TEXT_BYTES = 1800;

/**
 * All of one spec's counters as plain Maps, for lookups in a worker without touching
 * LMDB on the hot path. Refresh when `version` differs from transitions.version(specId).
 */
export interface TransitionSnapshot {
  specId: string;
  /** The spec's write counter when the snapshot was taken (0 = never written). */
  version: number;
  /** prev -> times it was followed by any call. */
  prevTotals: Map<string, number>;
  /** prev -> next -> count. */
  bigrams: Map<string, Map<string, number>>;
  /** pairKey(prev2, prev1) -> times the pair was followed by any call. */
  pairTotals: Map<string, number>;
  /** pairKey(prev2, prev1) -> next -> count. */
  trigrams: Map<string, Map<string, number>>;
}

/** Map key for a pair of endpoint ids in a snapshot (ids never contain NUL). */
export function pairKey(prev2: string, prev1: string): string {
  return prev2 + '\u0000' + prev1;
}

/**
 * Range over one spec's keys. Array keys sort element by element, so [specId] .. [specId,
 * 'z'] holds every kind letter above; callers still check key[0], because a spec id that
 * extends `specId` with a control character could sort inside the range.
 */
function specRange(specId: string): { start: Key; end: Key } {
  return { start: [specId], end: [specId, 'z'] };
}

function keyTextBytes(parts: readonly string[]): number {
  let n = 0;
  for (const p of parts) n += Buffer.byteLength(p);
  return n;
}

function bump(counts: Map<string, { key: Key; n: number }>, key: string[]): void {
  if (keyTextBytes(key) > MAX_KEY_TEXT_BYTES) return;
  const id = key.join('\u0000');
  const hit = counts.get(id);
  if (hit) hit.n++;
  else counts.set(id, { key, n: 1 });
}

function addNested(outer: Map<string, Map<string, number>>, a: string, b: string, n: number): void {
  let inner = outer.get(a);
  if (!inner) outer.set(a, (inner = new Map()));
  inner.set(b, n);
}

export class TransitionStore {
  constructor(private readonly ctx: StoreContext, private readonly db: Database<unknown, Key>) {}

  /**
   * Counts every bigram and trigram of one observed sequence of endpoint ids. All
   * increments, and the spec's write counter, commit in one write transaction: LMDB
   * serialises write transactions across threads and processes, so concurrent writers
   * never lose an increment.
   */
  async addSequence(specId: string, endpointIds: string[]): Promise<void> {
    assertWritable(this.ctx, 'transitions.addSequence');
    if (typeof specId !== 'string' || specId.length === 0) throw badArgument('transitions.addSequence: empty specId');
    if (!Array.isArray(endpointIds) || endpointIds.some((id) => typeof id !== 'string' || id.length === 0)) {
      throw badArgument('transitions.addSequence: endpointIds must be non-empty strings');
    }
    if (endpointIds.length < 2) return;
    // Aggregate first: a sequence that repeats a bigram writes it once with n > 1.
    const counts = new Map<string, { key: Key; n: number }>();
    for (let i = 0; i + 1 < endpointIds.length; i++) {
      const prev = endpointIds[i], next = endpointIds[i + 1];
      bump(counts, [specId, 'u', prev]);
      bump(counts, [specId, 'b', prev, next]);
      if (i + 2 < endpointIds.length) {
        const after = endpointIds[i + 2];
        bump(counts, [specId, 'p', prev, next]);
        bump(counts, [specId, 't', prev, next, after]);
      }
    }
    counts.set('\u0000v', { key: [specId, 'v'], n: 1 });
    await this.ctx.root.transaction(() => {
      for (const { key, n } of counts.values()) {
        // Reads inside the write transaction see the latest committed state plus our own
        // writes, so read-modify-write is atomic here.
        const current = readCount(this.db.get(key)) ?? 0;
        this.db.putSync(key, [SCHEMA_VERSION, current + n]);
      }
    });
  }

  bigram(specId: string, prev: string, next: string): number {
    return this.count([specId, 'b', prev, next]);
  }

  bigramTotal(specId: string, prev: string): number {
    return this.count([specId, 'u', prev]);
  }

  trigram(specId: string, prev2: string, prev1: string, next: string): number {
    return this.count([specId, 't', prev2, prev1, next]);
  }

  trigramTotal(specId: string, prev2: string, prev1: string): number {
    return this.count([specId, 'p', prev2, prev1]);
  }

  /** The spec's write counter: cheap to poll, changes whenever a snapshot would. */
  version(specId: string): number {
    return this.count([specId, 'v']);
  }

  /** Every counter of `specId`, read in one range scan. */
  snapshot(specId: string): TransitionSnapshot {
    const snap: TransitionSnapshot = {
      specId, version: 0, prevTotals: new Map(), bigrams: new Map(), pairTotals: new Map(), trigrams: new Map(),
    };
    for (const { key, value } of this.db.getRange(specRange(specId))) {
      const k = key as unknown[];
      if (!Array.isArray(k) || k[0] !== specId) continue;
      const n = readCount(value);
      if (n === undefined) continue;
      switch (k[1]) {
        case 'u': snap.prevTotals.set(k[2] as string, n); break;
        case 'b': addNested(snap.bigrams, k[2] as string, k[3] as string, n); break;
        case 'p': snap.pairTotals.set(pairKey(k[2] as string, k[3] as string), n); break;
        case 't': addNested(snap.trigrams, pairKey(k[2] as string, k[3] as string), k[4] as string, n); break;
        case 'v': snap.version = n; break;
        default: break;
      }
    }
    return snap;
  }

  /**
   * Removes every counter of `specId` (e.g. when the spec is deleted). The write counter
   * is kept and bumped, so workers holding a snapshot see a change. Resolves to the
   * number of counters removed.
   */
  async deleteSpec(specId: string): Promise<number> {
    assertWritable(this.ctx, 'transitions.deleteSpec');
    return this.ctx.root.transaction(() => {
      // Collect first: deleting under a live cursor is asking for skipped entries.
      const doomed: Key[] = [];
      for (const key of this.db.getKeys(specRange(specId))) {
        if (Array.isArray(key) && key[0] === specId && key[1] !== 'v') doomed.push(key);
      }
      for (const key of doomed) this.db.removeSync(key);
      const versionKey = [specId, 'v'];
      this.db.putSync(versionKey, [SCHEMA_VERSION, (readCount(this.db.get(versionKey)) ?? 0) + 1]);
      return doomed.length;
    });
  }

  private count(key: Key): number {
    return readCount(this.db.get(key)) ?? 0;
  }
}
