/**
 * Append-only log of observed call sequences (from /feedback), read back by offline
 * training. Key: a sequence number (1, 2, 3, ...) assigned inside the write transaction,
 * so appends from several writers interleave without collisions and iterate in order.
 * Stored value: { v: SCHEMA_VERSION, ...TrainingLogEntry }.
 */
import type { Database } from 'lmdb';
import { type StoreContext, assertWritable, entryCount } from './context';
import { badArgument } from './errors';
import { SCHEMA_VERSION, isCurrentRecord } from './schema';

export interface TrainingLogEntry {
  sessionId?: string;
  specId: string;
  /** Endpoint ids in call order. */
  calls: string[];
  /** ms since the epoch. */
  at: number;
}

/** An entry as read back, with its position in the log. */
export interface LoggedSequence extends TrainingLogEntry {
  seq: number;
}

/** The entry in `value` when complete and of this schema version, else undefined. */
export function asTrainingLogEntry(value: unknown): TrainingLogEntry | undefined {
  if (!isCurrentRecord(value)) return undefined;
  const r = value as unknown as Record<string, unknown>;
  if (
    typeof r.specId !== 'string' || typeof r.at !== 'number' || !Array.isArray(r.calls) ||
    !r.calls.every((c) => typeof c === 'string') || (r.sessionId !== undefined && typeof r.sessionId !== 'string')
  ) {
    return undefined;
  }
  const out: TrainingLogEntry = { specId: r.specId, calls: r.calls as string[], at: r.at };
  if (typeof r.sessionId === 'string') out.sessionId = r.sessionId;
  return out;
}

export interface IterateOptions {
  /** Only entries of this spec. */
  specId?: string;
  /** Only entries with seq > afterSeq (resume an earlier read). */
  afterSeq?: number;
}

export class TrainingLog {
  constructor(private readonly ctx: StoreContext, private readonly db: Database<unknown, number>) {}

  /** Appends one sequence; resolves to its sequence number. */
  async append(entry: TrainingLogEntry): Promise<number> {
    assertWritable(this.ctx, 'trainingLog.append');
    const stored: Record<string, unknown> = { v: SCHEMA_VERSION, specId: entry.specId, calls: entry.calls, at: entry.at };
    if (entry.sessionId !== undefined) stored.sessionId = entry.sessionId;
    if (asTrainingLogEntry(stored) === undefined) throw badArgument('trainingLog.append: malformed entry');
    return this.ctx.root.transaction(() => {
      let last = 0;
      for (const key of this.db.getKeys({ reverse: true, limit: 1 })) last = key;
      const seq = last + 1;
      this.db.putSync(seq, stored);
      return seq;
    });
  }

  /**
   * Entries in append order. Lazy: a training run can stream millions of entries without
   * holding them all. Entries of another schema version are skipped.
   */
  *iterate(opts: IterateOptions = {}): Iterable<LoggedSequence> {
    const range = opts.afterSeq === undefined ? this.db.getRange() : this.db.getRange({ start: opts.afterSeq, exclusiveStart: true });
    for (const { key, value } of range) {
      const entry = asTrainingLogEntry(value);
      if (entry === undefined || (opts.specId !== undefined && entry.specId !== opts.specId)) continue;
      yield { seq: key, ...entry };
    }
  }

  /** Number of entries in the log. */
  count(): number {
    return entryCount(this.db);
  }
}
