/**
 * One prediction, end to end, on the main thread (I/O only; CPU work is in the pool):
 *
 *   guardrails -> spec -> prediction cache (LMDB) --hit--> response
 *              -> prompt-embedding cache -> pool task (resolve, embed, rank)
 *              -> [fast answer: WebSocket clients get it now]
 *              -> LLM on the ranker's shortlist, bounded by the deadline (when configured)
 *              -> reciprocal-rank fusion -> output guardrails -> cache -> response
 *
 * Used by both POST /predict and the WebSocket protocol.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PredictionPool } from '../pool';
import { PoolError, type PredictResult } from '../pool/types';
import type { Store } from '../store';
import type { Config } from './config';
import { ApiError, Errors } from './errors';
import { checkHistoryEntry, isSensitiveEndpoint, sanitizeDescription, sanitizeParameterValue, validatePredictionShape, type GuardVerdict, type InputGuard, type SensitiveEndpoint } from './guardrails';
import type { LlmLayer, LlmOutcome } from './llm';
import { mergeRankings } from './llm';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { PredictBody } from './schemas';
import { round4, toPredictions, type Prediction, type RankedItem } from './response-builder';
import type { SpecRegistry } from './spec-registry';

/** Candidates beyond max_predictions that the ranker always scores (the seed's k + buffer). */
export const K_BUFFER = 2;
/** Shortlist the LLM chooses from. */
export const SHORTLIST = 15;
/** Prompt guardrail verdicts remembered (exact prompt text -> verdict), see checkPrompt. */
const VERDICT_MEMO_SIZE = 4096;
/** Longer prompts are scanned every time, so the memo holds at most ~2 MB of text. */
const VERDICT_MEMO_MAX_CHARS = 256;

export interface PredictResponse {
  predictions: Prediction[];
  confidence_scores: number[];
  metadata: Record<string, unknown>;
  processing_time_ms: number;
}

/**
 * A cached /predict answer as JSON text around the three per-answer values, so a hit is
 * three string concatenations (no decode, no re-serialisation):
 *
 *   parts[0] + JSON(request_id) + parts[1] + cache_hit + parts[2] + ',"processing_time_ms":' + ms + '}'
 *
 * which is exactly JSON.stringify of the response object (same keys, same order).
 */
export type CachedPrediction = [string, string, string];

/** Per-process markers for the per-answer values while the template is serialised (never guessable). */
const MARK = randomBytes(12).toString('hex');
const RID_MARK = `@@rid-${MARK}@@`;
const HIT_MARK = `@@hit-${MARK}@@`;

/** The response JSON from a template; see CachedPrediction. */
export function renderCached(parts: CachedPrediction, requestId: string, cacheHit: boolean, processingMs: number): string {
  return `${parts[0]}${JSON.stringify(requestId)}${parts[1]}${cacheHit ? 'true' : 'false'}${parts[2]},"processing_time_ms":${JSON.stringify(processingMs)}}`;
}

function isCachedPrediction(v: unknown): v is CachedPrediction {
  return Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'string' && typeof v[2] === 'string';
}

/**
 * The handler of a cache write nobody waits for (a failed cache write only costs a later
 * miss). Defined out here on purpose: a closure written inside predictJson would share
 * its context, and so keep the request's result, ranked items and response alive until
 * LMDB commits the write — long enough for all of it to be promoted to the old
 * generation, which under load meant a major GC about every second on the main thread.
 */
function ignoreWriteError(): void {}

/** Sanitised descriptions remembered (catalog text -> safe text); cleared when full. */
const DESCRIPTION_MEMO_SIZE = 8192;

export interface PredictHooks {
  /** Called with the ML answer as soon as it exists, when an LLM refinement follows. */
  onFast?: (fast: PredictResponse) => void;
  /**
   * A signal aborted once nobody waits for this answer (the client went away). Asked for
   * only when an LLM call starts, which it then cancels: a paid call nobody reads is
   * not made to the end. The answer of a cancelled call is not cached.
   */
  abortSignal?: () => AbortSignal;
}

export interface PredictServiceDeps {
  config: Readonly<Config>;
  store: Store<CachedPrediction>;
  specs: SpecRegistry;
  pool: PredictionPool;
  guard: InputGuard;
  llm: LlmLayer | undefined;
  metrics: Metrics;
  logger: Logger;
}

export class PredictService {
  /** Encoder name reported by workers; part of the prompt-embedding cache key. */
  private encoderName = '';
  private readonly promptVerdicts = new Map<string, GuardVerdict>();
  private readonly descriptions = new Map<string, string>();
  /** isSensitiveEndpoint of each endpoint id, per catalog (a pure function of path and tags). */
  private readonly sensitivity = new WeakMap<object, Map<string, SensitiveEndpoint>>();
  private modelVersion = 'unknown';

  constructor(private readonly d: PredictServiceDeps) {}

  get currentModelVersion(): string {
    return this.modelVersion;
  }

  /** What the workers run (from a probe at start): the model version and encoder in cache keys. */
  noteWorkerInfo(info: { modelVersion: string; encoderName: string }): void {
    this.modelVersion = info.modelVersion;
    this.encoderName = info.encoderName;
  }

  /** The answer as an object (parsed from predictJson; the routes send the text itself). */
  async predict(body: PredictBody, requestId: string, hooks: PredictHooks = {}): Promise<PredictResponse> {
    return JSON.parse(await this.predictJson(body, requestId, hooks)) as PredictResponse;
  }

  /** The answer as JSON text: what POST /predict sends, and what the cache keeps (as a template). */
  async predictJson(body: PredictBody, requestId: string, hooks: PredictHooks = {}): Promise<string> {
    const started = performance.now();
    const cfg = this.d.config;
    const prompt = body.prompt.trim();
    if (!prompt) throw Errors.emptyPrompt();
    if (body.prompt.length > cfg.maxPromptLength) throw Errors.promptTooLong(cfg.maxPromptLength);
    const history = body.history ?? [];
    const k = body.max_predictions ?? 3;
    this.checkInput(prompt, history);

    const specId = body.spec_id ?? cfg.defaultSpec;
    const spec = this.d.specs.get(specId);
    if (!spec) throw Errors.specNotFound(specId);
    const catalog = spec.catalog;

    const cacheKey = this.cacheKey(catalog.hash, prompt, history, k, body.temperature);
    const stored = this.d.store.predictions.get(cacheKey);
    // Records of an older layout (whole response objects) read as misses and are replaced.
    const cached = isCachedPrediction(stored) ? stored : undefined;
    this.d.metrics.cache.inc({ cache: 'predictions', result: cached ? 'hit' : 'miss' });
    if (cached) return renderCached(cached, requestId, true, round4(performance.now() - started));

    const embEncoder = this.encoderName;
    const embKey = embEncoder ? hashKey(['emb', embEncoder, normalizePrompt(prompt)]) : undefined;
    const cachedEmb = embKey ? this.d.store.embeddings.get(embKey) : undefined;
    if (embKey) this.d.metrics.cache.inc({ cache: 'embeddings', result: cachedEmb ? 'hit' : 'miss' });

    const topN = Math.max(k + K_BUFFER, this.d.llm?.enabled ? SHORTLIST : 0);
    let result: PredictResult;
    try {
      result = await this.d.pool.predict({
        specId,
        catalogHash: catalog.hash,
        transitionsVersion: this.d.store.transitions.version(specId),
        prompt,
        history,
        topN,
        now: Date.now(),
        promptEmbedding: cachedEmb,
      });
    } catch (err) {
      if (err instanceof PoolError) this.d.logger.warn({ request_id: requestId, code: err.code, reason: err.message }, 'pool task failed');
      throw poolToApiError(err, cfg.taskTimeoutMs);
    }
    this.d.metrics.mlSeconds.observe(result.timings.totalMs / 1000);
    // The model version used in cache keys changes only through noteWorkerInfo (start-up,
    // model swap): a result of a task submitted before a swap must not roll it back.
    if (!this.encoderName) this.encoderName = result.encoderName;
    // Prompt embeddings live as long as cached answers (a stream of unique prompts must
    // not grow the store for good), and are not kept when caching is off.
    if (result.newPromptEmbedding && cfg.cacheTtlSeconds > 0) {
      // The lookup's key, unless the worker's encoder is not the one it was made for.
      const key = embKey !== undefined && result.encoderName === embEncoder ? embKey : hashKey(['emb', result.encoderName, normalizePrompt(prompt)]);
      void this.d.store.embeddings.put(key, result.newPromptEmbedding, cfg.cacheTtlSeconds).catch(ignoreWriteError);
    }

    const coldStart = result.resolved.every((r) => r < 0);
    const mlItems: RankedItem[] = Array.from(result.endpoints, (endpoint, i) => ({
      endpoint,
      score: result.scores[i]!,
      similarity: result.similarity[i]!,
      params: result.params[i]!,
    }));
    const mlMs = performance.now() - started;
    const base = {
      spec_id: specId,
      model_version: result.modelVersion,
      request_id: requestId,
      cold_start_analysis: {
        has_history: history.length > 0,
        resolved_history: result.resolved.filter((r) => r >= 0).length,
        unmatched_history: result.unmatched,
        fallback_method: coldStart ? 'prompt_only' : 'none',
      },
    };
    const build = (items: RankedItem[], llm: LlmOutcome | undefined, stage: 'fast' | 'final'): PredictResponse => {
      const provider = llm?.status === 'ok' ? llm.provider : 'ml_ranker';
      const raw = toPredictions(catalog, items.slice(0, k), { temperature: body.temperature, coldStart, provider: 'ml_ranker' });
      const { predictions, blocked, filtered } = this.guardOutput(raw, catalog);
      const llmMs = llm ? llm.latencyMs : null;
      return {
        predictions,
        confidence_scores: predictions.map((p) => p.confidence),
        metadata: {
          ...base,
          processing_method: llm?.status === 'ok' ? 'ml_ranker+llm_rrf' : result.modelVersion.startsWith('heuristic') ? 'heuristic_ranker' : 'ml_ranker',
          stage,
          ai_provider: provider,
          safety_validation: {
            input_validated: cfg.guardrails,
            output_filtered: filtered,
            blocked_predictions: blocked,
            security_checks_passed: true,
          },
          cost_aware_routing: this.routingMetadata(llm),
          performance_metrics: {
            llm_latency_ms: llmMs === null ? null : round4(llmMs),
            ml_scoring_latency_ms: round4(result.timings.totalMs),
            embedding_latency_ms: round4(result.timings.embedMs),
            pipeline_latency_ms: round4(mlMs),
            cache_hit: false,
            embedding_cache_hit: cachedEmb !== undefined,
            candidates_generated: result.candidatesGenerated,
            candidates_ranked: items.length,
          },
        },
        processing_time_ms: round4(performance.now() - started),
      };
    };

    let final: PredictResponse;
    let cacheable = true;
    if (!this.d.llm?.enabled) {
      final = build(mlItems, undefined, 'final');
    } else {
      hooks.onFast?.(build(mlItems, undefined, 'fast'));
      const remaining = Math.max(0, cfg.llm.deadlineMs - (performance.now() - started));
      const outcome = await this.d.llm.predict(
        {
          prompt,
          history: Array.from(result.resolved)
            .filter((r) => r >= 0)
            .map((r) => catalog.endpoints[r]!.id),
          shortlist: mlItems.slice(0, SHORTLIST).map((it) => {
            const e = catalog.endpoints[it.endpoint]!;
            return { id: e.id, method: e.method, path: e.path, summary: e.summary || e.operationId };
          }),
          k,
        },
        { deadlineMs: remaining, signal: hooks.abortSignal?.() },
      );
      this.recordLlm(outcome);
      // A transient LLM miss must not pin the ML-only answer in the cache for the whole TTL.
      cacheable = !isTransientMiss(outcome);
      final = build(outcome.status === 'ok' ? this.fuse(mlItems, outcome, catalog) : mlItems, outcome, 'final');
    }
    this.d.metrics.predictions.inc({ method: String(final.metadata.processing_method) });
    const template = toTemplate(final);
    if (!template) return JSON.stringify(final);
    if (cacheable) void this.d.store.predictions.put(cacheKey, template, cfg.cacheTtlSeconds).catch(ignoreWriteError);
    return renderCached(template, requestId, false, final.processing_time_ms);
  }

  private checkInput(prompt: string, history: NonNullable<PredictBody['history']>): void {
    if (!this.d.config.guardrails) return;
    let verdict = this.checkPrompt(prompt);
    for (let i = 0; verdict.ok && i < history.length; i++) {
      verdict = checkHistoryEntry(history[i]!.api_call, history[i]!.params);
    }
    if (!verdict.ok) {
      this.d.metrics.guardrailBlocks.inc({ rule: verdict.rule });
      const err = Errors.unsafeInput(verdict.rule, verdict.reason);
      throw new ApiError(err.code, err.status, err.message, { rule: verdict.rule });
    }
  }

  /**
   * The input guard's verdict on a prompt, remembered: the guard is a pure function of the
   * text under this process's fixed options, and on the cache-hit path rescanning the same
   * prompt was ~14 % of the main thread's CPU (bench/cached.ts profile). Cleared when full
   * rather than LRU-ordered, so a hit costs one Map lookup.
   */
  private checkPrompt(prompt: string): GuardVerdict {
    if (prompt.length > VERDICT_MEMO_MAX_CHARS) return this.d.guard.check(prompt);
    let verdict = this.promptVerdicts.get(prompt);
    if (verdict === undefined) {
      verdict = this.d.guard.check(prompt);
      if (this.promptVerdicts.size >= VERDICT_MEMO_SIZE) this.promptVerdicts.clear();
      this.promptVerdicts.set(prompt, verdict);
    }
    return verdict;
  }

  private guardOutput(preds: Prediction[], catalog: { endpoints: { id: string; path: string; tags: string[] }[] }): { predictions: Prediction[]; blocked: number; filtered: boolean } {
    if (!this.d.config.guardrails) {
      for (const p of preds) p.safety_validated = false;
      return { predictions: preds, blocked: 0, filtered: false };
    }
    const out: Prediction[] = [];
    let blocked = 0;
    let sensitivity = this.sensitivity.get(catalog);
    if (!sensitivity) this.sensitivity.set(catalog, (sensitivity = new Map()));
    for (const p of preds) {
      p.description = this.safeDescription(p.description);
      const params: Prediction['parameters'] = {};
      for (const [k, v] of Object.entries(p.parameters)) params[k] = sanitizeParameterValue(v);
      p.parameters = params;
      if (p.reasoning) p.reasoning = sanitizeDescription(p.reasoning, 300);
      p.safety_validated = true;
      if (validatePredictionShape(p).length > 0) {
        blocked++;
        continue;
      }
      // Flagged, not removed: a console may still want to show an admin endpoint.
      let sens = sensitivity.get(p.api_call);
      if (!sens) {
        const path = p.api_call.slice(p.api_call.indexOf(' ') + 1);
        const tags = catalog.endpoints.find((e) => e.id === p.api_call)?.tags ?? [];
        sens = isSensitiveEndpoint(path, tags);
        sensitivity.set(p.api_call, sens);
      }
      if (sens.sensitive) p.sensitive = sens.kind;
      out.push(p);
    }
    out.forEach((p, i) => (p.rank = i + 1));
    return { predictions: out, blocked, filtered: true };
  }

  /** sanitizeDescription of catalog text, remembered: the same few endpoint descriptions recur. */
  private safeDescription(text: string): string {
    let safe = this.descriptions.get(text);
    if (safe === undefined) {
      safe = sanitizeDescription(text);
      if (this.descriptions.size >= DESCRIPTION_MEMO_SIZE) this.descriptions.clear();
      this.descriptions.set(text, safe);
    }
    return safe;
  }

  private fuse(ml: RankedItem[], outcome: Extract<LlmOutcome, { status: 'ok' }>, catalog: { endpoints: { id: string }[] }): RankedItem[] {
    const byId = new Map(ml.map((m) => [catalog.endpoints[m.endpoint]!.id, m]));
    const merged = mergeRankings(
      ml.map((m) => ({ id: catalog.endpoints[m.endpoint]!.id, score: m.score })),
      outcome.choices.map((c) => ({ id: c.id, confidence: c.confidence })),
      { rrfK: 60, llmWeight: this.d.config.llm.llmWeight },
    );
    const choices = new Map(outcome.choices.map((c) => [c.id, c]));
    return merged.map((m) => {
      const base = byId.get(m.id)!;
      const choice = choices.get(m.id);
      const params = { ...base.params };
      if (choice) for (const [k, v] of Object.entries(choice.parameters ?? {})) if (params[k] === undefined && typeof v !== 'object') params[k] = String(v);
      // Fused scores are tiny RRF sums; scale so softmax confidences stay informative.
      return { ...base, score: m.fused * 60, params, reasoning: choice?.reasoning, provider: choice ? outcome.provider : 'ml_ranker' };
    });
  }

  private recordLlm(o: LlmOutcome): void {
    const m = this.d.metrics;
    if (o.status === 'ok') {
      m.llmCalls.inc({ provider: o.provider, outcome: 'ok' });
      m.llmSeconds.observe({ provider: o.provider, outcome: 'ok' }, o.latencyMs / 1000);
      m.llmCostUsd.inc({ provider: o.provider, tier: o.tier }, o.costUsd);
    } else {
      m.llmCalls.inc({ provider: 'none', outcome: o.status });
      if (o.status === 'deadline') m.llmMisses.inc();
    }
  }

  private routingMetadata(o: LlmOutcome | undefined): Record<string, unknown> {
    if (!this.d.llm?.enabled) return { enabled: false, reason: 'no LLM provider configured' };
    if (!o) return { enabled: true, status: 'pending' };
    if (o.status !== 'ok') return { enabled: true, status: o.status, reason: o.reason };
    return {
      enabled: true,
      status: 'ok',
      provider: o.provider,
      model_tier: o.tier,
      model_name: o.model,
      estimated_cost_usd: o.estimatedCostUsd,
      actual_cost_usd: o.costUsd,
      daily_budget_usd: this.d.config.llm.dailyBudgetUsd,
      budget_utilization: o.budgetUtilisation,
      cost_warning: o.costWarning,
      emergency_mode: o.emergencyMode,
    };
  }

  private cacheKey(catalogHash: string, prompt: string, history: NonNullable<PredictBody['history']>, k: number, temperature: number | undefined): string {
    const h = history.map((e) => `${(e.method ?? '').toUpperCase()} ${e.api_call.trim()}`);
    return hashKey(['pred', catalogHash, this.modelVersion, normalizePrompt(prompt), ...h, String(k), String(temperature ?? '')]);
  }
}

/**
 * The response as a CachedPrediction template: serialised once with markers in place of
 * the request id and cache_hit, without processing_time_ms (the last key), then cut at
 * the markers. Undefined in the (impossible in practice) case that a marker text also
 * occurs elsewhere in the answer.
 */
function toTemplate(res: PredictResponse): CachedPrediction | undefined {
  const metadata = res.metadata;
  const perf = metadata.performance_metrics as Record<string, unknown>;
  const requestId = metadata.request_id;
  const hit = perf.cache_hit;
  metadata.request_id = RID_MARK;
  perf.cache_hit = HIT_MARK;
  let text: string;
  try {
    text = JSON.stringify({ predictions: res.predictions, confidence_scores: res.confidence_scores, metadata });
  } finally {
    metadata.request_id = requestId;
    perf.cache_hit = hit;
  }
  const a = text.split(`"${RID_MARK}"`);
  if (a.length !== 2) return undefined;
  const b = a[1]!.split(`"${HIT_MARK}"`);
  if (b.length !== 2) return undefined;
  // Drop the closing brace: processing_time_ms is appended by renderCached.
  return [a[0]!, b[0]!, b[1]!.slice(0, -1)];
}

/** Case and whitespace folded: "Create  a User" and "create a user" share cache entries. */
export function normalizePrompt(p: string): string {
  return p.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** Cache keys are hashes: prompts are never stored in plain text. */
export function hashKey(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url');
}

/** Deadline, provider failure, open breaker or cancellation: worth asking again next time. */
function isTransientMiss(o: LlmOutcome): boolean {
  if (o.status === 'deadline' || o.status === 'failed') return true;
  return o.status === 'skipped' && (o.reason === 'circuit_open' || o.reason === 'cancelled');
}

function poolToApiError(err: unknown, timeoutMs: number): unknown {
  if (!(err instanceof PoolError)) return err;
  switch (err.code) {
    case 'OVERLOADED':
      return Errors.overloaded();
    case 'DEADLINE':
      return Errors.deadline(timeoutMs);
    case 'WORKER_FAILED':
      return Errors.workerCrashed();
  }
}
