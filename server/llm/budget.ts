/**
 * Daily LLM spend, persisted in LMDB so a restart does not reset the budget.
 *
 *   key 'budget:YYYY-MM-DD' (UTC day)  -> DayRecord (v: 1)
 *   key 'budget:total'                 -> TotalRecord (v: 1), all days together
 *
 * Writes are deltas applied read-modify-write inside `db.transaction`, so updates from
 * several callers (or processes sharing the environment) add up and none is lost.
 *
 * Reads must be synchronous and cheap (the router checks the budget on every request),
 * so the ledger keeps a mirror of today's record: the value written by the last
 * committed transaction plus the deltas still waiting to commit. The mirror only sees
 * other processes' spend when one of this process's own transactions commits (it reads
 * the stored value inside the transaction), which is good enough for a soft limit.
 */
import type { Database } from 'lmdb';
import { TIERS, PROVIDERS, type ProviderName, type Tier } from './config';

export const BUDGET_RECORD_VERSION = 1;

export interface DayRecord {
  v: 1;
  /** UTC day, 'YYYY-MM-DD'. */
  day: string;
  spentUsd: number;
  /** Successful LLM predictions (answers used). */
  predictions: number;
  /** Provider calls that returned an answer (billed), including malformed ones. */
  calls: number;
  /** Successful predictions per tier. */
  byTier: Record<Tier, number>;
  /** Spend per provider, USD. */
  byProvider: Record<ProviderName, number>;
  inputTokens: number;
  outputTokens: number;
  /** predict() calls that ended without an answer (deadline or all providers failed). */
  misses: number;
}

export interface TotalRecord {
  v: 1;
  spentUsd: number;
  predictions: number;
  calls: number;
}

/** One change to the ledger; every field is added to the day's record. */
export interface SpendDelta {
  spentUsd?: number;
  predictions?: number;
  calls?: number;
  tier?: Tier;
  provider?: ProviderName;
  inputTokens?: number;
  outputTokens?: number;
  misses?: number;
}

export interface BudgetLedgerOptions {
  /** Clock, ms since epoch; injected by tests. Default Date.now. */
  now?: () => number;
}

const TOTAL_KEY = 'budget:total';

export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function emptyDay(day: string): DayRecord {
  return {
    v: 1,
    day,
    spentUsd: 0,
    predictions: 0,
    calls: 0,
    byTier: { fast: 0, balanced: 0, premium: 0 },
    byProvider: { anthropic: 0, openai: 0 },
    inputTokens: 0,
    outputTokens: 0,
    misses: 0,
  };
}

function applyDelta(r: DayRecord, d: SpendDelta): DayRecord {
  const out: DayRecord = { ...r, byTier: { ...r.byTier }, byProvider: { ...r.byProvider } };
  out.spentUsd += d.spentUsd ?? 0;
  out.predictions += d.predictions ?? 0;
  out.calls += d.calls ?? 0;
  out.inputTokens += d.inputTokens ?? 0;
  out.outputTokens += d.outputTokens ?? 0;
  out.misses += d.misses ?? 0;
  if (d.tier && d.predictions) out.byTier[d.tier] += d.predictions;
  if (d.provider && d.spentUsd) out.byProvider[d.provider] += d.spentUsd;
  return out;
}

/** Accept only records of the current version; anything else is rebuilt from zero, never misread. */
function readDay(value: unknown, day: string): DayRecord {
  const r = value as Partial<DayRecord> | undefined;
  if (!r || r.v !== BUDGET_RECORD_VERSION || typeof r.spentUsd !== 'number') return emptyDay(day);
  const base = emptyDay(day);
  return {
    ...base,
    ...r,
    v: 1,
    day,
    byTier: { ...base.byTier, ...pick(r.byTier, TIERS) },
    byProvider: { ...base.byProvider, ...pick(r.byProvider, PROVIDERS) },
  };
}

function pick<K extends string>(o: unknown, keys: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  if (o && typeof o === 'object') for (const k of keys) if (typeof (o as Record<string, unknown>)[k] === 'number') out[k] = (o as Record<K, number>)[k];
  return out;
}

function readTotal(value: unknown): TotalRecord {
  const r = value as Partial<TotalRecord> | undefined;
  if (!r || r.v !== BUDGET_RECORD_VERSION) return { v: 1, spentUsd: 0, predictions: 0, calls: 0 };
  return { v: 1, spentUsd: r.spentUsd ?? 0, predictions: r.predictions ?? 0, calls: r.calls ?? 0 };
}

export class BudgetLedger {
  private readonly now: () => number;
  /** Mirror of today's record as of the last commit of ours. */
  private base: DayRecord;
  private baseTotal: TotalRecord;
  /** Deltas queued but not yet committed, per day. */
  private readonly pending: { day: string; delta: SpendDelta }[] = [];

  constructor(
    private readonly db: Database,
    opts: BudgetLedgerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    const day = dayKey(this.now());
    this.base = readDay(db.get(`budget:${day}`), day);
    this.baseTotal = readTotal(db.get(TOTAL_KEY));
  }

  /** Today's (UTC) record including uncommitted spend. */
  today(): DayRecord {
    const day = dayKey(this.now());
    if (this.base.day !== day) this.base = readDay(this.db.get(`budget:${day}`), day);
    let r = this.base;
    for (const p of this.pending) if (p.day === day) r = applyDelta(r, p.delta);
    return r;
  }

  /** All-time totals including uncommitted spend. */
  total(): TotalRecord {
    const t = { ...this.baseTotal };
    for (const { delta } of this.pending) {
      t.spentUsd += delta.spentUsd ?? 0;
      t.predictions += delta.predictions ?? 0;
      t.calls += delta.calls ?? 0;
    }
    return t;
  }

  /** A stored day, or undefined when nothing was recorded that day. */
  day(day: string): DayRecord | undefined {
    const v = this.db.get(`budget:${day}`);
    return v === undefined ? undefined : readDay(v, day);
  }

  /**
   * Add a delta to today's record. Visible to `today()` at once; the returned promise
   * resolves when it is committed (and rejects if the write fails).
   */
  record(delta: SpendDelta): Promise<void> {
    const day = dayKey(this.now());
    const entry = { day, delta };
    this.pending.push(entry);
    const key = `budget:${day}`;
    let committedDay: DayRecord | undefined;
    let committedTotal: TotalRecord | undefined;
    const done = this.db.transaction(() => {
      committedDay = applyDelta(readDay(this.db.get(key), day), delta);
      const t = readTotal(this.db.get(TOTAL_KEY));
      committedTotal = {
        v: 1,
        spentUsd: t.spentUsd + (delta.spentUsd ?? 0),
        predictions: t.predictions + (delta.predictions ?? 0),
        calls: t.calls + (delta.calls ?? 0),
      };
      this.db.put(key, committedDay);
      this.db.put(TOTAL_KEY, committedTotal);
    });
    const settle = (): void => {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
    };
    return done.then(
      () => {
        // Transactions commit in call order, so this one's view includes every earlier delta.
        settle();
        if (committedDay && dayKey(this.now()) === day) this.base = committedDay;
        if (committedTotal) this.baseTotal = committedTotal;
      },
      (err: unknown) => {
        settle();
        throw err;
      },
    );
  }

  /** Resolves when every write so far is committed. */
  async flush(): Promise<void> {
    await this.db.committed;
  }
}
