/**
 * Builds the server from a resolved Config: store, spec registry, worker pool, LLM
 * layer, guardrails, rate limiter and routes. `startServer` returns a handle whose
 * `close()` is the graceful shutdown: stop accepting, finish in-flight requests, close
 * the pool and the store.
 */
import { openStore, type Store } from '../store';
import { PredictionPool } from '../pool';
import { DEFAULT_CANDIDATE_LIMIT } from '../engine/predictor';
import type { Config } from './config';
import { createInputGuard } from './guardrails';
import { createLlmLayer } from './llm-setup';
import { createLogger, type Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { PredictService, type CachedPrediction } from './predict-service';
import { RateLimiter } from './rate-limit';
import { registerRoutes } from './routes';
import { SpecRegistry } from './spec-registry';
import { HttpServer } from './uws-adapter';
import { closeJobs } from './jobs';
import type { LlmLayer } from './llm';

/** Expired cache entries are swept this often. */
const CACHE_SWEEP_INTERVAL_MS = 60_000;
/** The caches' size bounds are checked this often (two O(1) counts unless one is over). */
const CACHE_BOUNDS_INTERVAL_MS = 5_000;

export interface ServerContext {
  config: Readonly<Config>;
  store: Store<CachedPrediction>;
  specs: SpecRegistry;
  pool: PredictionPool;
  predictor: PredictService;
  llm: LlmLayer | undefined;
  metrics: Metrics;
  logger: Logger;
  limiter: RateLimiter | undefined;
  http: HttpServer;
  startedAt: number;
}

export interface RunningServer {
  port: number;
  ctx: ServerContext;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Accept the pool's crash task (tests only). */
  allowCrashTask?: boolean;
  logger?: Logger;
}

export async function startServer(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningServer> {
  const startedAt = Date.now();
  const logger = opts.logger ?? createLogger(config.logLevel);
  const store = openStore<CachedPrediction>({
    path: config.dataDir,
    maxPredictionEntries: config.cacheMaxEntries,
    maxEmbeddingEntries: config.embeddingCacheMaxEntries,
  });
  const metrics = createMetrics();
  const specs = new SpecRegistry(store, { urlTtlSeconds: config.specUrlTtlSeconds, fetchTimeoutMs: config.specFetchTimeoutMs, maxBytes: config.maxSpecBytes });
  const dirs: { dir: string; source: 'bundled' | 'dir' }[] = [{ dir: config.bundledSpecsDir, source: 'bundled' }];
  if (config.specsDir) dirs.push({ dir: config.specsDir, source: 'dir' });
  const loaded = await specs.loadAtStart(dirs);
  for (const f of loaded.failed) logger.warn({ file: f.file, reason: f.reason }, 'spec not loaded');

  const pool = new PredictionPool({
    size: config.poolSize,
    maxQueue: config.queueLimit,
    taskTimeoutMs: config.taskTimeoutMs,
    dataDir: config.dataDir,
    rankerPath: config.rankerPath,
    embeddingKind: config.embeddingKind,
    embeddingModel: config.embeddingModel,
    embeddingVocab: config.embeddingVocab,
    candidateLimit: DEFAULT_CANDIDATE_LIMIT,
    allowCrashTask: opts.allowCrashTask === true,
  });
  const llm = createLlmLayer(config, store, logger);
  const guard = createInputGuard({ enabled: config.guardrails, piiDetection: config.piiDetection, profanityThreshold: config.profanityThreshold });
  const predictor = new PredictService({ config, store, specs, pool, guard, llm, metrics, logger });
  const limiter = config.rateLimitRpm > 0 ? new RateLimiter({ limitPerMinute: config.rateLimitRpm, blockMinutes: config.rateLimitBlockMinutes }) : undefined;
  const http = new HttpServer(config.maxBodyBytes);
  const ctx: ServerContext = {
    config, store, specs, pool, predictor, llm, metrics, logger, limiter, http, startedAt,
  };
  registerRoutes(ctx);

  // Warm every worker (encoder, WASM, model) before accepting traffic; a probe also tells
  // the main thread the model version used in cache keys.
  const probes = await Promise.all(Array.from({ length: config.poolSize }, () => pool.probe().catch(() => undefined)));
  const probe = probes.find((p) => p !== undefined);
  if (probe) predictor.noteWorkerInfo(probe);
  else logger.warn('no worker answered the start-up probe');

  // Cache upkeep, one job at a time: the expiry sweep once a minute, the size bounds every
  // few seconds (a no-op unless a cache is over its bound).
  let upkeep: Promise<unknown> | undefined;
  const maintain = (what: 'sweep' | 'bounds') => {
    if (upkeep) return;
    upkeep = (what === 'sweep' ? store.cleanupExpired() : store.enforceBounds())
      .catch((err) => logger.warn({ err: String(err), job: what }, 'cache upkeep failed'))
      .finally(() => (upkeep = undefined));
  };
  const timers = [
    setInterval(() => maintain('sweep'), CACHE_SWEEP_INTERVAL_MS),
    setInterval(() => maintain('bounds'), CACHE_BOUNDS_INTERVAL_MS),
    setInterval(() => void specs.refreshExpired().catch(() => undefined), 60_000),
  ];
  for (const t of timers) t.unref();

  const port = await http.listen(config.host, config.port);
  logger.info({ port, host: config.host, specs: specs.ids(), startup_ms: Date.now() - startedAt }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    ctx,
    close: () =>
      (closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        await http.close();
        await closeJobs(ctx);
        await pool.close();
        await store.close();
        logger.info('closed');
      })()),
  };
}
