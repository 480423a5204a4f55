/**
 * Opening-time schema check and migrations.
 *
 *   meta.schema_version    meaning                        writer              reader
 *   missing, store empty   fresh data dir                 stamp current       NOT_INITIALISED
 *   missing, data present  written before versioning (0)  migrate             NEEDS_MIGRATION
 *   < SCHEMA_VERSION       older code                     migrate             NEEDS_MIGRATION
 *   = SCHEMA_VERSION       current                        -                   -
 *   > SCHEMA_VERSION       newer code                     SCHEMA_TOO_NEW      SCHEMA_TOO_NEW
 *
 * A migration runs in one write transaction with the version stamp, so a crash leaves
 * either the old data dir or the migrated one. It clears every cache, runs the upgrade
 * steps for durable databases, then drops any durable record this code still cannot
 * read: after opening, nothing on disk is a record this code would misread.
 */
import type { Database, Key, RootDatabase } from 'lmdb';
import { entryCount } from './context';
import { StoreError } from './errors';
import {
  CACHE_DBS, DURABLE_DBS, SCHEMA_VERSION, SCHEMA_VERSION_KEY, readCount,
  type DbName, type DurableDbName,
} from './schema';
import { asSpecRecord } from './specs';
import { asTrainingLogEntry } from './training-log';
import { asJobRecord } from './jobs';

/** Turns a record of version `from` into one of version `from + 1`, or undefined to drop it. */
export type RecordUpgrade = (value: unknown, key: Key) => unknown;

export interface MigrationStep {
  /** The step upgrades data dirs at this version to `from + 1`. */
  from: number;
  description: string;
  /** Per durable database; a database without an entry keeps only readable records. */
  upgrade: Partial<Record<DurableDbName, RecordUpgrade>>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Version 0 is the layout before records carried a version: the same fields without
 * `v`, and transition counts stored as bare numbers.
 */
function stampV1(value: unknown): unknown {
  return isPlainObject(value) && value.v === undefined ? { ...value, v: 1 } : undefined;
}

export const MIGRATIONS: readonly MigrationStep[] = [
  {
    from: 0,
    description: 'add a schema version to every durable record',
    upgrade: {
      specs: stampV1,
      training_log: stampV1,
      transitions: (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? [1, value] : undefined),
      // jobs are not carried over: a job record from before a restart of an old version
      // describes work that no longer runs.
    },
  },
  {
    from: 1,
    description: 'caches of answers and fetched specs are stored compressed (the caches are cleared); durable records are restamped',
    upgrade: restampDurable(1),
  },
  {
    from: 2,
    description: 'cached answers are compressed against their own dictionary, answer-dictionary.ts (the caches are cleared); durable records are restamped',
    upgrade: restampDurable(2),
  },
  {
    from: 3,
    description: 'cached answers and fetched specs are stored as frames whose expiry is read without decoding the value, ttl-cache.ts (the caches are cleared); durable records are restamped',
    upgrade: restampDurable(3),
  },
];

/** Every durable record of version `from` restamped `from + 1`, nothing else changed. */
function restampDurable(from: number): MigrationStep['upgrade'] {
  return { specs: restamp(from), training_log: restamp(from), jobs: restamp(from), transitions: restampCount(from) };
}

/** Counter records `[from, n]` become `[from + 1, n]`; anything else is dropped. */
function restampCount(from: number): RecordUpgrade {
  return (value) => (Array.isArray(value) && value.length === 2 && value[0] === from ? [from + 1, value[1]] : undefined);
}

/** Object records of version `from` get `v: from + 1`; anything else is dropped. */
function restamp(from: number): RecordUpgrade {
  return (value) => (isPlainObject(value) && value.v === from ? { ...value, v: from + 1 } : undefined);
}

/** Whether this code can read a durable record (the same checks the readers apply). */
const READABLE: Record<DurableDbName, (value: unknown) => boolean> = {
  specs: (v) => asSpecRecord(v) !== undefined,
  transitions: (v) => readCount(v) !== undefined,
  training_log: (v) => asTrainingLogEntry(v) !== undefined,
  jobs: (v) => asJobRecord(v) !== undefined,
};

// Each database has its own value and key types; the migration code handles them all.
export type DbMap = Record<DbName, Database<any, any>>;

function tooNew(found: number): StoreError {
  return new StoreError(
    'STORE_SCHEMA_TOO_NEW',
    `store: data dir has schema version ${found}, newer than this code's ${SCHEMA_VERSION}; ` +
      'refusing to open it (run the newer version, or point OPENSESAME_DATA_DIR at another directory)',
  );
}

function readStoredVersion(meta: Database<unknown, Key>): number | undefined {
  const raw = meta.get(SCHEMA_VERSION_KEY);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
    throw new StoreError('STORE_SCHEMA_TOO_NEW', `store: unreadable schema version ${JSON.stringify(raw)} in meta; refusing to guess`);
  }
  return raw;
}

function hasAnyData(dbs: DbMap): boolean {
  for (const [name, db] of Object.entries(dbs)) {
    if (name !== 'meta' && entryCount(db) > 0) return true;
  }
  return false;
}

/** Throws when the data dir was written by newer code; call before creating anything. */
export function refuseNewer(meta: Database<unknown, Key>): void {
  const stored = readStoredVersion(meta);
  if (stored !== undefined && stored > SCHEMA_VERSION) throw tooNew(stored);
}

/** Read-only openers only check: migrating is the writer's job. */
export function checkSchemaReadOnly(meta: Database<unknown, Key>): void {
  const stored = readStoredVersion(meta);
  if (stored === undefined) {
    throw new StoreError('STORE_NOT_INITIALISED', 'store: no schema version in this data dir; open it read-write once first');
  }
  if (stored > SCHEMA_VERSION) throw tooNew(stored);
  if (stored < SCHEMA_VERSION) {
    throw new StoreError(
      'STORE_NEEDS_MIGRATION',
      `store: data dir has schema version ${stored}, this code needs ${SCHEMA_VERSION}; open it read-write first to migrate`,
    );
  }
}

/** What prepareSchema did, for the start-up log. */
export interface SchemaReport {
  /** Version found on disk (0 = pre-versioning data; undefined = fresh dir). */
  found: number | undefined;
  migrated: boolean;
  /** Durable records dropped because no migration could make them readable. */
  dropped: number;
}

/**
 * Writer-side check: stamps a fresh dir, migrates an old one, refuses a newer one.
 * Synchronous because it runs once at start, before anything may read.
 */
export function prepareSchema(root: RootDatabase, dbs: DbMap): SchemaReport {
  const first = readStoredVersion(dbs.meta);
  if (first !== undefined && first > SCHEMA_VERSION) throw tooNew(first);
  if (first === SCHEMA_VERSION) return { found: first, migrated: false, dropped: 0 };
  // Re-read inside the write transaction: another writer may have migrated meanwhile.
  return root.transactionSync(() => {
    const stored = readStoredVersion(dbs.meta) ?? (hasAnyData(dbs) ? 0 : undefined);
    if (stored === SCHEMA_VERSION) return { found: stored, migrated: false, dropped: 0 };
    if (stored !== undefined && stored > SCHEMA_VERSION) throw tooNew(stored);
    let dropped = 0;
    if (stored !== undefined) dropped = migrate(dbs, stored);
    dbs.meta.putSync(SCHEMA_VERSION_KEY, SCHEMA_VERSION);
    return { found: stored, migrated: stored !== undefined, dropped };
  });
}

/** Runs inside the caller's write transaction. Returns the number of records dropped. */
function migrate(dbs: DbMap, from: number): number {
  for (const name of CACHE_DBS) dbs[name].clearSync();
  let dropped = 0;
  for (let version = from; version < SCHEMA_VERSION; version++) {
    const step = MIGRATIONS.find((s) => s.from === version);
    if (!step) continue;
    for (const name of DURABLE_DBS) {
      const upgrade = step.upgrade[name];
      if (upgrade) dropped += rewrite(dbs[name], upgrade);
    }
  }
  for (const name of DURABLE_DBS) dropped += rewrite(dbs[name], (value) => (READABLE[name](value) ? value : undefined));
  return dropped;
}

/** Applies `fn` to every record; undefined removes it. Returns the number removed. */
function rewrite(db: Database<unknown, Key>, fn: RecordUpgrade): number {
  // Collect before writing: changing entries under a live cursor can skip some.
  const entries: { key: Key; value: unknown }[] = [];
  for (const { key, value } of db.getRange()) entries.push({ key, value });
  let removed = 0;
  for (const { key, value } of entries) {
    const next = fn(value, key);
    if (next === undefined) {
      db.removeSync(key);
      removed++;
    } else if (next !== value) {
      db.putSync(key, next);
    }
  }
  return removed;
}
