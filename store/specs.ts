/**
 * Registered API descriptions, durable across restarts. Key: specId.
 * Stored value: { v: SCHEMA_VERSION, ...SpecRecord }.
 */
import type { Database } from 'lmdb';
import { type StoreContext, assertWritable, removeKey } from './context';
import { badArgument } from './errors';
import { SCHEMA_VERSION, isCurrentRecord } from './schema';

export type SpecSource = 'bundled' | 'upload' | 'url' | 'dir';

export interface SpecRecord {
  specId: string;
  title: string;
  version: string;
  /** "openapi-3.0" | "openapi-3.1" | "swagger-2.0" */
  format: string;
  source: SpecSource;
  /** Where a 'url' spec was fetched from. */
  url?: string;
  /** ms since the epoch. */
  createdAt: number;
  /** Catalog.hash of the parsed document. */
  catalogHash: string;
  /** The original document as JSON text (YAML uploads are stored converted). */
  rawJson: string;
  /**
   * The parsed catalog (engine Catalog) as JSON text, so worker threads load it without
   * re-running OpenAPI validation. Absent in records written before it existed.
   */
  catalogJson?: string;
}

const SOURCES: ReadonlySet<string> = new Set(['bundled', 'upload', 'url', 'dir']);

/** The SpecRecord in `value` when it is complete and of this schema version, else undefined. */
export function asSpecRecord(value: unknown): SpecRecord | undefined {
  if (!isCurrentRecord(value)) return undefined;
  const r = value as unknown as Record<string, unknown>;
  if (
    typeof r.specId !== 'string' || typeof r.title !== 'string' || typeof r.version !== 'string' ||
    typeof r.format !== 'string' || typeof r.source !== 'string' || !SOURCES.has(r.source) ||
    typeof r.createdAt !== 'number' || typeof r.catalogHash !== 'string' || typeof r.rawJson !== 'string' ||
    (r.url !== undefined && typeof r.url !== 'string') ||
    (r.catalogJson !== undefined && typeof r.catalogJson !== 'string')
  ) {
    return undefined;
  }
  const out: SpecRecord = {
    specId: r.specId, title: r.title, version: r.version, format: r.format, source: r.source as SpecSource,
    createdAt: r.createdAt, catalogHash: r.catalogHash, rawJson: r.rawJson,
  };
  if (typeof r.url === 'string') out.url = r.url;
  if (typeof r.catalogJson === 'string') out.catalogJson = r.catalogJson;
  return out;
}

export class SpecStore {
  constructor(private readonly ctx: StoreContext, private readonly db: Database<unknown, string>) {}

  /** Inserts or replaces the record with this specId. */
  async put(record: SpecRecord): Promise<void> {
    assertWritable(this.ctx, 'specs.put');
    const stored = { ...record, v: SCHEMA_VERSION };
    if (asSpecRecord(stored) === undefined) throw badArgument('specs.put: incomplete SpecRecord');
    if (record.specId.length === 0) throw badArgument('specs.put: empty specId');
    await this.db.put(record.specId, stored);
  }

  get(specId: string): SpecRecord | undefined {
    return asSpecRecord(this.db.get(specId));
  }

  /** All readable records, in specId order. */
  list(): SpecRecord[] {
    const out: SpecRecord[] = [];
    for (const { value } of this.db.getRange()) {
      const rec = asSpecRecord(value);
      if (rec !== undefined) out.push(rec);
    }
    return out;
  }

  /** Removes the record; resolves to whether it existed. */
  async delete(specId: string): Promise<boolean> {
    assertWritable(this.ctx, 'specs.delete');
    return removeKey(this.ctx, this.db, specId);
  }
}
