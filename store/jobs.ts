/**
 * Background job records (/train, /generate-data), so GET /jobs/:id answers across a
 * restart. Key: job id. Stored value: { v: SCHEMA_VERSION, ...JobRecord }.
 */
import type { Database } from 'lmdb';
import { type StoreContext, assertWritable, removeKey } from './context';
import { badArgument } from './errors';
import { SCHEMA_VERSION, isCurrentRecord } from './schema';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  /** "train" | "generate-data" | ... */
  kind: string;
  status: JobStatus;
  /** 0..1 */
  progress: number;
  /** ms since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** Human-readable progress or failure message. */
  message?: string;
  /** Job-specific result (model version, file paths, metrics); must be msgpack-encodable. */
  result?: unknown;
}

const STATUSES: ReadonlySet<string> = new Set(['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export function asJobRecord(value: unknown): JobRecord | undefined {
  if (!isCurrentRecord(value)) return undefined;
  const r = value as unknown as Record<string, unknown>;
  if (
    typeof r.id !== 'string' || typeof r.kind !== 'string' || typeof r.status !== 'string' || !STATUSES.has(r.status) ||
    typeof r.progress !== 'number' || typeof r.createdAt !== 'number' || typeof r.updatedAt !== 'number' ||
    (r.message !== undefined && typeof r.message !== 'string')
  ) {
    return undefined;
  }
  const { v: _v, ...rest } = r;
  return rest as unknown as JobRecord;
}

export class JobStore {
  constructor(private readonly ctx: StoreContext, private readonly db: Database<unknown, string>) {}

  /** Inserts or replaces the job `id`; `record.id` must equal `id`. */
  async put(id: string, record: JobRecord): Promise<void> {
    assertWritable(this.ctx, 'jobs.put');
    if (typeof id !== 'string' || id.length === 0 || record.id !== id) throw badArgument('jobs.put: record.id must equal a non-empty id');
    const stored = { ...record, v: SCHEMA_VERSION };
    if (asJobRecord(stored) === undefined) throw badArgument('jobs.put: malformed JobRecord');
    await this.db.put(id, stored);
  }

  get(id: string): JobRecord | undefined {
    return asJobRecord(this.db.get(id));
  }

  /** All readable jobs, newest first. */
  list(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { value } of this.db.getRange()) {
      const job = asJobRecord(value);
      if (job !== undefined) out.push(job);
    }
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  async delete(id: string): Promise<boolean> {
    assertWritable(this.ctx, 'jobs.delete');
    return removeKey(this.ctx, this.db, id);
  }
}
