/**
 * The LMDB persistence layer: one environment under the data dir, one named database per
 * kind of record.
 *
 *   meta                 schema_version -> number
 *   specs                specId -> SpecRecord                      durable
 *   url_specs            url -> { raw, fetchedAt }, TTL            cache
 *   embeddings           key -> Float32Array (binary), opt. TTL    cache
 *   predictions          key -> response, TTL                      cache
 *   endpoint_embeddings  key -> Float32 matrix (binary)            cache
 *   transitions          [specId, kind, ...ids] -> count           durable (feature store)
 *   training_log         seq -> observed sequence                  durable, append-only
 *   jobs                 id -> JobRecord                           durable
 *   budget               owned by the LLM layer                    durable, untouched
 *
 * The server opens it read-write once (the owner of all writes); worker threads open the
 * same path with `readOnly: true`. Record versions and migrations: schema.ts,
 * migrations.ts.
 */
import fs from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StoreContext } from './context';
import { StoreError } from './errors';
import { checkSchemaReadOnly, prepareSchema, refuseNewer, type DbMap, type SchemaReport } from './migrations';
import { ALL_DBS, BINARY_DBS, COMPRESSED_DBS, SCHEMA_VERSION, type DbName } from './schema';
import { SpecStore } from './specs';
import { TransitionStore } from './transitions';
import { TrainingLog } from './training-log';
import { JobStore } from './jobs';
import { type CacheStats, TtlCache, UrlSpecCache } from './ttl-cache';
import { EmbeddingCache, EndpointEmbeddings } from './vector-cache';
import { WriteBehind } from './write-behind';
import { ANSWER_DICTIONARY } from './answer-dictionary';

export { SCHEMA_VERSION } from './schema';
export { StoreError, type StoreErrorCode } from './errors';
export type { SchemaReport } from './migrations';
export type { SpecRecord, SpecSource } from './specs';
export { pairKey, type TransitionSnapshot } from './transitions';
export type { TrainingLogEntry, LoggedSequence, IterateOptions } from './training-log';
export type { JobRecord, JobStatus } from './jobs';
export type { CacheStats, UrlSpecEntry } from './ttl-cache';
export type { EmbeddingMatrix } from './vector-cache';
export type { SpecStore, TransitionStore, TrainingLog, JobStore, TtlCache, UrlSpecCache, EmbeddingCache, EndpointEmbeddings };

export interface StoreOptions {
  /** Directory of the LMDB environment (OPENSESAME_DATA_DIR). Created by a writer when missing. */
  path: string;
  /**
   * Open without write access, for worker threads. Reads see the writer's commits; every
   * write method rejects with StoreError 'STORE_READ_ONLY'. The data dir must already
   * have been opened read-write (so it exists and carries the current schema).
   */
  readOnly?: boolean;
  /** Upper bound on prediction-cache entries, enforced by enforceBounds() (default 50,000). */
  maxPredictionEntries?: number;
  /** Upper bound on prompt-embedding cache entries, enforced by enforceBounds() (default 50,000). */
  maxEmbeddingEntries?: number;
  /**
   * Most recently used prediction-cache records kept in memory in front of LMDB, so a hit
   * neither reads nor decodes (default 4,096; 0 = off).
   */
  predictionMemoryEntries?: number;
  /** Clock in ms since the epoch used for TTLs. Defaults to Date.now; tests inject one. */
  now?: () => number;
}

export interface StoreStats {
  predictions: CacheStats;
  embeddings: CacheStats;
  urlSpecs: CacheStats;
}

export interface Store<P = unknown> {
  readonly path: string;
  readonly readOnly: boolean;
  /** What the schema check found and did at open. */
  readonly schema: SchemaReport;
  readonly specs: SpecStore;
  readonly urlSpecs: UrlSpecCache;
  /** Prompt embeddings; fold the model id into the key. */
  readonly embeddings: EmbeddingCache;
  /** Endpoint embedding matrices per catalog hash; fold the model id into the key. */
  readonly endpointEmbeddings: EndpointEmbeddings;
  /** Cached /predict responses. */
  readonly predictions: TtlCache<P>;
  readonly transitions: TransitionStore;
  readonly trainingLog: TrainingLog;
  readonly jobs: JobStore;
  /**
   * The raw `budget` database (msgpack values), owned by the LLM layer, which versions
   * its own records. Migrations never touch it.
   */
  readonly budgetDb: Database;
  /** Removes expired entries from the TTL caches and trims the prediction and embedding caches to their bounds; resolves to the number removed. */
  cleanupExpired(): Promise<number>;
  /**
   * Trims the prediction and prompt-embedding caches to their bounds when they are over
   * them; costs two O(1) entry counts when they are not. The server calls it every few
   * seconds: once a minute (with cleanupExpired) let a stream of unique prompts overshoot
   * the bound by a minute's worth of entries.
   */
  enforceBounds(): Promise<number>;
  /** Per-cache hit/miss counts of this process, and entry counts on disk. */
  stats(): StoreStats;
  /**
   * Drop the cached read snapshot so the next read sees every commit made so far, also by
   * other threads. lmdb-js renews a reader's snapshot lazily; a worker that misses a
   * record another thread just wrote calls this and reads again.
   */
  refresh(): void;
  /** Closes the environment; idempotent. The store must not be used afterwards. */
  close(): Promise<void>;
}

const DEFAULT_MAX_PREDICTIONS = 50_000;
const DEFAULT_MAX_EMBEDDINGS = 50_000;
const DEFAULT_PREDICTION_MEMORY_ENTRIES = 4096;
/** Cache puts are issued together this often (write-behind.ts), or at once when this many wait. */
const CACHE_WRITE_DELAY_MS = 20;
const CACHE_WRITE_MAX_OPS = 1000;

/** Named databases plus the root environment (root.close() closes them all). */
const MAX_DBS = 16;
/** Address space reserved for the map (see openStore). */
const MAP_SIZE_BYTES = 8 * 1024 ** 3;

/**
 * Opens (creating when missing, unless read-only) the store at `opts.path`, checking the
 * schema: a fresh dir is stamped, an older one migrated (writer) or refused (reader), a
 * newer one refused. Throws StoreError on those faults.
 */
export function openStore<P = unknown>(opts: StoreOptions): Store<P> {
  if (!opts || typeof opts.path !== 'string' || opts.path.length === 0) {
    throw new StoreError('STORE_BAD_ARGUMENT', 'store: openStore needs a non-empty path');
  }
  const readOnly = opts.readOnly === true;
  if (readOnly && !fs.existsSync(opts.path)) {
    throw new StoreError('STORE_NOT_INITIALISED', `store: no data dir at ${opts.path}; open it read-write once first`);
  }
  // noSubdir: false — the data dir is always a directory; lmdb-js would otherwise take a
  // name with a dot in it ("/var/lib/opensesame.d") for a single-file environment.
  // A fixed, generous address-space reservation: without one lmdb-js maps the file in
  // chunks as it grows and keeps the earlier mappings, so the same pages were counted in
  // the resident set once per mapping (seen: 167 MB resident for a 75 MB file). This is
  // virtual address space, not memory; lmdb-js still grows the map if it ever fills.
  const root = open({ path: opts.path, maxDbs: MAX_DBS, readOnly, noSubdir: false, mapSize: MAP_SIZE_BYTES });
  try {
    // Check the schema stamp before opening (and so creating) anything else: a data dir
    // we refuse must be left exactly as we found it.
    const meta = openNamed(root, 'meta');
    if (readOnly) checkSchemaReadOnly(meta);
    else refuseNewer(meta);
    const dbs = {} as DbMap;
    for (const name of ALL_DBS) dbs[name] = name === 'meta' ? meta : openNamed(root, name);
    const schema: SchemaReport = readOnly ? { found: SCHEMA_VERSION, migrated: false, dropped: 0 } : prepareSchema(root, dbs);
    return buildStore<P>(
      root, dbs, readOnly, opts.now ?? Date.now, opts.path, schema, opts.maxPredictionEntries ?? DEFAULT_MAX_PREDICTIONS,
      opts.maxEmbeddingEntries ?? DEFAULT_MAX_EMBEDDINGS, opts.predictionMemoryEntries ?? DEFAULT_PREDICTION_MEMORY_ENTRIES,
    );
  } catch (err) {
    // Don't leak the environment when refusing to open it.
    root.close().catch(() => undefined);
    throw err;
  }
}

function openNamed(root: RootDatabase, name: DbName): Database {
  const db = root.openDB({
    name,
    encoding: BINARY_DBS.has(name) ? 'binary' : 'msgpack',
    // Values above the threshold are LZ4-compressed; smaller ones gain nothing. Answers
    // are compressed against a dictionary of their own (answer-dictionary.ts).
    ...(COMPRESSED_DBS.has(name) ? { compression: { threshold: 256, ...(name === 'predictions' ? { dictionary: ANSWER_DICTIONARY } : {}) } } : {}),
  });
  // lmdb returns undefined for a missing database in read-only mode.
  if (db === undefined) {
    throw new StoreError('STORE_NOT_INITIALISED', `store: database "${name}" missing; open the data dir read-write once first`);
  }
  return db;
}

function buildStore<P>(
  root: RootDatabase, dbs: DbMap, readOnly: boolean, now: () => number, path: string, schema: SchemaReport, maxPredictions: number,
  maxEmbeddings: number, predictionMemory: number,
): Store<P> {
  const cacheWrites = new WriteBehind(CACHE_WRITE_DELAY_MS, CACHE_WRITE_MAX_OPS);
  const ctx: StoreContext = { root, readOnly, now, closed: false, cacheWrites };
  const predictions = new TtlCache<P>(ctx, dbs.predictions, 'predictions', readOnly ? 0 : predictionMemory);
  const urlSpecs = new UrlSpecCache(ctx, dbs.url_specs);
  const embeddings = new EmbeddingCache(ctx, dbs.embeddings);
  let closing: Promise<void> | undefined;
  const enforceBounds = async () => (await predictions.trimTo(maxPredictions)) + (await embeddings.trimTo(maxEmbeddings));
  return {
    path,
    readOnly,
    schema,
    specs: new SpecStore(ctx, dbs.specs),
    urlSpecs,
    embeddings,
    endpointEmbeddings: new EndpointEmbeddings(ctx, dbs.endpoint_embeddings),
    predictions,
    transitions: new TransitionStore(ctx, dbs.transitions),
    trainingLog: new TrainingLog(ctx, dbs.training_log),
    jobs: new JobStore(ctx, dbs.jobs),
    budgetDb: dbs.budget,
    async cleanupExpired() {
      // Sequential on purpose: the sweeps share one write queue, and the server calls
      // this on a timer where latency does not matter but event-loop stalls do.
      let n = await predictions.cleanupExpired();
      n += await urlSpecs.cleanupExpired();
      n += await embeddings.cleanupExpired();
      return n + (await enforceBounds());
    },
    enforceBounds,
    stats() {
      return { predictions: predictions.stats(), embeddings: embeddings.stats(), urlSpecs: urlSpecs.stats() };
    },
    refresh() {
      root.resetReadTxn();
    },
    close() {
      if (!closing) {
        cacheWrites.flush(); // queued cache puts are issued before the environment closes
        ctx.closed = true;
        closing = root.close();
      }
      return closing;
    },
  };
}
