/**
 * Configuration, resolved once at start: frozen defaults, then OPENSESAME_* environment
 * variables, then explicit overrides (tests). Every value is validated here with a message
 * that names the variable; nothing else in the server reads process.env.
 */
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../engine/package-root';

export interface Config {
  /** Interface to listen on (OPENSESAME_API_HOST). */
  host: string;
  /** TCP port; 0 picks a free one (OPENSESAME_API_PORT). */
  port: number;
  /** LMDB environment directory (OPENSESAME_DATA_DIR). */
  dataDir: string;
  /** Extra directory of OpenAPI documents loaded at start (OPENSESAME_SPECS_DIR). */
  specsDir: string | undefined;
  /** Bundled specs directory (the project's specs/). */
  bundledSpecsDir: string;
  /** spec_id used when a request names none (OPENSESAME_DEFAULT_SPEC). */
  defaultSpec: string;
  /** Longest accepted prompt, in characters (OPENSESAME_MAX_PROMPT_LENGTH). */
  maxPromptLength: number;
  /** Largest accepted request body in bytes (OPENSESAME_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Largest accepted OpenAPI document upload to POST /specs (OPENSESAME_MAX_SPEC_BYTES). */
  maxSpecBytes: number;
  /** TTL of cached answers and prompt embeddings; 0 stores neither (OPENSESAME_CACHE_TTL_SECONDS). */
  cacheTtlSeconds: number;
  /** Most prediction-cache entries kept on disk; the oldest go first (OPENSESAME_CACHE_MAX_ENTRIES). */
  cacheMaxEntries: number;
  /** Most prompt-embedding cache entries kept on disk; the oldest go first (OPENSESAME_EMBEDDING_CACHE_MAX_ENTRIES). */
  embeddingCacheMaxEntries: number;
  /** How long a spec fetched by URL is kept before it is fetched again (OPENSESAME_SPEC_URL_TTL_SECONDS). */
  specUrlTtlSeconds: number;
  /** Time limit of a spec URL fetch (OPENSESAME_SPEC_FETCH_TIMEOUT_MS). */
  specFetchTimeoutMs: number;
  /** Input and output guardrails (OPENSESAME_ENABLE_GUARDRAILS). */
  guardrails: boolean;
  /** PII rules of the input guard (OPENSESAME_ENABLE_PII_DETECTION). */
  piiDetection: boolean;
  /** Profanity score at which a prompt is refused, 0..1 (OPENSESAME_PROFANITY_THRESHOLD). */
  profanityThreshold: number;
  /** Requests per minute per user (OPENSESAME_RATE_LIMIT_RPM); 0 disables. */
  rateLimitRpm: number;
  /** How long a user who exceeded the limit stays blocked (OPENSESAME_RATE_LIMIT_BLOCK_MINUTES). */
  rateLimitBlockMinutes: number;
  /**
   * Worker threads (OPENSESAME_POOL_SIZE). Default: cores − 1, at least 1 — the main
   * thread needs a core for I/O, and each worker holds ~120 MB of ONNX runtime memory.
   */
  poolSize: number;
  /** Tasks allowed to wait for a worker before requests are shed with 503 (OPENSESAME_QUEUE_LIMIT). */
  queueLimit: number;
  /** Deadline of one prediction task in the pool (OPENSESAME_TASK_TIMEOUT_MS) -> 504. */
  taskTimeoutMs: number;
  /** Ranker model file (OPENSESAME_RANKER_PATH). */
  rankerPath: string;
  /** "word-vectors" (bundled) or "bert" (OPENSESAME_EMBEDDING_KIND). */
  embeddingKind: 'word-vectors' | 'bert';
  /** ONNX file of a user-supplied encoder (OPENSESAME_EMBEDDING_MODEL). */
  embeddingModel: string | undefined;
  /** WordPiece vocab.txt of a user-supplied encoder (OPENSESAME_EMBEDDING_VOCAB). */
  embeddingVocab: string | undefined;
  /** pino level (OPENSESAME_LOG_LEVEL). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Put prompt text in debug logs; off unless asked for (OPENSESAME_LOG_PROMPTS). */
  logPrompts: boolean;
  /** Salt for hashing user ids (OPENSESAME_HASH_SALT). */
  hashSalt: string;
  /** LLM settings (ANTHROPIC_*, OPENAI_*, OPENSESAME_LLM_* and budget variables). */
  llm: LlmEnv;
  /** WebSocket limits of GET /ws (OPENSESAME_WS_* variables). */
  ws: WsEnv;
}

export interface WsEnv {
  /** Largest accepted message in bytes; a bigger one closes the connection with 1009 (OPENSESAME_WS_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Messages per second per connection, token bucket with this burst; 0 disables (OPENSESAME_WS_RATE_PER_SECOND). */
  ratePerSecond: number;
  /** Predictions in flight per connection before OVERLOADED errors (OPENSESAME_WS_MAX_IN_FLIGHT). */
  maxInFlight: number;
  /** Seconds without traffic before uWS drops the connection; 0 or 8..960, pings are sent automatically (OPENSESAME_WS_IDLE_TIMEOUT_SECONDS). */
  idleTimeoutSeconds: number;
  /** Bytes buffered for a slow client above which new messages wait in a bounded queue (OPENSESAME_WS_BACKPRESSURE_BYTES). */
  backpressureBytes: number;
}

export interface LlmEnv {
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string | undefined;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  /** OPENSESAME_LLM_DEADLINE_MS */
  deadlineMs: number;
  /** OPENSESAME_DAILY_BUDGET_USD */
  dailyBudgetUsd: number;
  /** OPENSESAME_COST_PER_PREDICTION_TARGET */
  costPerPredictionTarget: number;
  /** OPENSESAME_LLM_WEIGHT: weight of the LLM list in rank fusion. */
  llmWeight: number;
  /** OPENSESAME_LLM_QUALITY_MODE: upgrade long/complex prompts to the premium tier. */
  qualityMode: boolean;
  /** Per-tier model names: OPENSESAME_{ANTHROPIC,OPENAI}_MODEL_{FAST,BALANCED,PREMIUM}. */
  models: Record<string, string | undefined>;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function num(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new ConfigError(name, `expected a number, got "${raw}"`);
  if (v < min || v > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`);
  }
  return raw;
}

/** uWS aborts the whole process on an idle timeout outside 0 or 8..960 s, so refuse it here. */
function wsIdle(env: Env, name: string): number {
  const v = int(env, name, 120, 0, 960);
  if (v !== 0 && v < 8) throw new ConfigError(name, `must be 0 (off) or between 8 and 960, got ${v}`);
  return v;
}

function str(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** Resolve and freeze the configuration; throws ConfigError naming the bad variable. */
export function resolveConfig(env: Env = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const root = packageRoot();
  const models: Record<string, string | undefined> = {};
  for (const provider of ['ANTHROPIC', 'OPENAI']) {
    for (const tier of ['FAST', 'BALANCED', 'PREMIUM']) {
      models[`${provider.toLowerCase()}.${tier.toLowerCase()}`] = str(env, `OPENSESAME_${provider}_MODEL_${tier}`);
    }
  }
  const host = env.OPENSESAME_API_HOST || '0.0.0.0';
  const cfg: Config = {
    host,
    port: int(env, 'OPENSESAME_API_PORT', 8000, 0, 65535),
    dataDir: path.resolve(env.OPENSESAME_DATA_DIR || path.join(process.cwd(), 'data')),
    specsDir: env.OPENSESAME_SPECS_DIR ? path.resolve(env.OPENSESAME_SPECS_DIR) : undefined,
    bundledSpecsDir: path.join(root, 'specs'),
    defaultSpec: env.OPENSESAME_DEFAULT_SPEC || 'saas',
    maxPromptLength: int(env, 'OPENSESAME_MAX_PROMPT_LENGTH', 4096, 1, 1_000_000),
    maxBodyBytes: int(env, 'OPENSESAME_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxSpecBytes: int(env, 'OPENSESAME_MAX_SPEC_BYTES', 20 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    cacheTtlSeconds: int(env, 'OPENSESAME_CACHE_TTL_SECONDS', 3600, 0, 30 * 86400),
    cacheMaxEntries: int(env, 'OPENSESAME_CACHE_MAX_ENTRIES', 50_000, 10, 100_000_000),
    embeddingCacheMaxEntries: int(env, 'OPENSESAME_EMBEDDING_CACHE_MAX_ENTRIES', 50_000, 10, 100_000_000),
    specUrlTtlSeconds: int(env, 'OPENSESAME_SPEC_URL_TTL_SECONDS', 3600, 0, 30 * 86400),
    specFetchTimeoutMs: int(env, 'OPENSESAME_SPEC_FETCH_TIMEOUT_MS', 5000, 100, 120_000),
    guardrails: bool(env, 'OPENSESAME_ENABLE_GUARDRAILS', true),
    piiDetection: bool(env, 'OPENSESAME_ENABLE_PII_DETECTION', true),
    profanityThreshold: num(env, 'OPENSESAME_PROFANITY_THRESHOLD', 0.5, 0, 1),
    rateLimitRpm: int(env, 'OPENSESAME_RATE_LIMIT_RPM', 60, 0, 10_000_000),
    rateLimitBlockMinutes: num(env, 'OPENSESAME_RATE_LIMIT_BLOCK_MINUTES', 5, 0, 24 * 60),
    poolSize: int(env, 'OPENSESAME_POOL_SIZE', Math.max(1, os.availableParallelism() - 1), 1, 256),
    queueLimit: int(env, 'OPENSESAME_QUEUE_LIMIT', 512, 0, 1_000_000),
    taskTimeoutMs: int(env, 'OPENSESAME_TASK_TIMEOUT_MS', 2000, 10, 600_000),
    rankerPath: path.resolve(env.OPENSESAME_RANKER_PATH || path.join(root, 'models', 'ranker.json')),
    embeddingKind: oneOf(env, 'OPENSESAME_EMBEDDING_KIND', 'word-vectors', ['word-vectors', 'bert'] as const),
    embeddingModel: env.OPENSESAME_EMBEDDING_MODEL ? path.resolve(env.OPENSESAME_EMBEDDING_MODEL) : undefined,
    embeddingVocab: env.OPENSESAME_EMBEDDING_VOCAB ? path.resolve(env.OPENSESAME_EMBEDDING_VOCAB) : undefined,
    logLevel: oneOf(env, 'OPENSESAME_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    logPrompts: bool(env, 'OPENSESAME_LOG_PROMPTS', false),
    hashSalt: env.OPENSESAME_HASH_SALT || 'opensesame',
    llm: {
      anthropicApiKey: str(env, 'ANTHROPIC_API_KEY'),
      anthropicBaseUrl: url(env, 'ANTHROPIC_BASE_URL'),
      openaiApiKey: str(env, 'OPENAI_API_KEY'),
      openaiBaseUrl: url(env, 'OPENAI_BASE_URL'),
      deadlineMs: int(env, 'OPENSESAME_LLM_DEADLINE_MS', 600, 10, 120_000),
      dailyBudgetUsd: num(env, 'OPENSESAME_DAILY_BUDGET_USD', 100, 0, 1e9),
      costPerPredictionTarget: num(env, 'OPENSESAME_COST_PER_PREDICTION_TARGET', 0.005, 0, 1e6),
      llmWeight: num(env, 'OPENSESAME_LLM_WEIGHT', 1, 0, 100),
      qualityMode: bool(env, 'OPENSESAME_LLM_QUALITY_MODE', true),
      models,
    },
    ws: {
      maxMessageBytes: int(env, 'OPENSESAME_WS_MAX_MESSAGE_BYTES', 64 * 1024, 256, 16 * 1024 * 1024),
      ratePerSecond: num(env, 'OPENSESAME_WS_RATE_PER_SECOND', 20, 0, 1_000_000),
      maxInFlight: int(env, 'OPENSESAME_WS_MAX_IN_FLIGHT', 32, 1, 10_000),
      idleTimeoutSeconds: wsIdle(env, 'OPENSESAME_WS_IDLE_TIMEOUT_SECONDS'),
      backpressureBytes: int(env, 'OPENSESAME_WS_BACKPRESSURE_BYTES', 64 * 1024, 1024, 64 * 1024 * 1024),
    },
    ...overrides,
  };
  if (cfg.embeddingKind === 'bert' && (!cfg.embeddingModel || !cfg.embeddingVocab)) {
    throw new ConfigError('OPENSESAME_EMBEDDING_MODEL', 'a bert encoder needs both OPENSESAME_EMBEDDING_MODEL and OPENSESAME_EMBEDDING_VOCAB');
  }
  return deepFreeze(cfg);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
