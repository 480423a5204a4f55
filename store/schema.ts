/**
 * Schema of the LMDB environment: the version number, the named databases, and the
 * shape checks that decide whether a stored record may be read by this code.
 *
 * Every record carries the schema version that wrote it:
 *   object records (msgpack)   { v: SCHEMA_VERSION, ...fields }
 *   counters (transitions)     [SCHEMA_VERSION, count]
 *   vectors (binary)           byte 0 = SCHEMA_VERSION (see vector-codec.ts)
 *   TTL cache frames (binary)  byte 0 = SCHEMA_VERSION (see ttl-cache.ts)
 * A record whose version differs is a miss at read time, never a guess.
 *
 * Bump SCHEMA_VERSION whenever a record shape changes, and add a step to MIGRATIONS in
 * migrations.ts for each durable database whose records can be carried over.
 */

/** Version of the record shapes this code reads and writes. */
export const SCHEMA_VERSION = 4;

/** Key in the `meta` database holding the environment's schema version. */
export const SCHEMA_VERSION_KEY = 'schema_version';

/**
 * Rebuildable data: dropped wholesale when the schema changes, because recomputing a
 * cache entry is always cheaper than being wrong about one.
 */
export const CACHE_DBS = ['url_specs', 'embeddings', 'predictions', 'endpoint_embeddings'] as const;

/**
 * Data that cannot be recomputed. Migrated record by record when a migration step
 * exists; otherwise kept only when this code can read it.
 */
export const DURABLE_DBS = ['specs', 'transitions', 'training_log', 'jobs'] as const;

/**
 * The LLM layer's spend records. Their shape belongs to that layer, so the store never
 * rewrites or drops them; the LLM layer versions its own records.
 */
export const FOREIGN_DBS = ['budget'] as const;

export type CacheDbName = (typeof CACHE_DBS)[number];
export type DurableDbName = (typeof DURABLE_DBS)[number];
export type DbName = 'meta' | CacheDbName | DurableDbName | (typeof FOREIGN_DBS)[number];

/**
 * Databases whose values lmdb-js stores LZ4-compressed (from schema version 2). Cached
 * answers are JSON text, and under a stream of unique prompts the cache's pages are a
 * large part of the process's resident memory: 2.8 KB per answer uncompressed, 1.4 KB
 * with lmdb-js's default dictionary (schema 2), 0.55 KB with answer-dictionary.ts
 * (`predictions`, schema 3). `url_specs` keeps lmdb-js's default dictionary.
 */
export const COMPRESSED_DBS: ReadonlySet<DbName> = new Set<DbName>(['predictions', 'url_specs']);

/**
 * Databases holding raw binary values behind a version header: Float32 vectors
 * (vector-codec.ts), and from schema 4 the TTL caches' frames (ttl-cache.ts).
 */
export const BINARY_DBS: ReadonlySet<DbName> = new Set<DbName>(['embeddings', 'endpoint_embeddings', 'predictions', 'url_specs']);

export const ALL_DBS: readonly DbName[] = ['meta', ...CACHE_DBS, ...DURABLE_DBS, ...FOREIGN_DBS];

/** A versioned object record: `{ v: SCHEMA_VERSION, ...fields }`. */
export type Versioned<T> = T & { v: number };

/** True when `value` is an object record written by this schema version. */
export function isCurrentRecord(value: unknown): value is { v: number } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { v?: unknown }).v === SCHEMA_VERSION;
}

/** A transition counter: `[SCHEMA_VERSION, count]` (a tuple keeps the hot records small). */
export type CountRecord = [version: number, count: number];

/** The count in a counter record, or undefined when it was written by another version. */
export function readCount(value: unknown): number | undefined {
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== SCHEMA_VERSION) return undefined;
  const n = value[1];
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}
