/**
 * The LLM layer: asks Anthropic, then OpenAI, to choose among the ML shortlist, within a
 * deadline and a daily budget. Runs on the main thread (I/O bound).
 *
 * predict() never rejects for provider trouble: every way of not getting an answer is a
 * resolved outcome with a non-ok status, so the caller can always fall back to the ML
 * answer. It resolves by the deadline even if a server never answers: one timer aborts
 * the in-flight request and, as a safety net, settles the race itself.
 *
 * Per provider (in order, skipping those without a key or with an open breaker):
 *   - estimate the cost; skip if it exceeds what is left of today's budget
 *   - call with the remaining time as timeout and an AbortSignal
 *   - 429 with retry-after: wait and retry once, only if wait + a minimal call fit
 *   - 5xx / connection error: retry once if time remains
 *   - anything else (4xx, malformed answer, exhausted retries): breaker failure, next provider
 * Spend is recorded from the reported usage of every answered call (also malformed ones:
 * they are billed), at the configured price of provider x tier.
 */
import { performance } from 'node:perf_hooks';
import { PROVIDERS, type LlmConfig, type ProviderName, type Tier } from './config';
import { BudgetLedger, type SpendDelta } from './budget';
import { CircuitBreaker, type BreakerState } from './breaker';
import { prepareRequest, parseAnswer, type DiscardReason, type LlmChoice, type LlmRequest, type PreparedRequest } from './prompt';
import { createProviders, ProviderError, scrubSecrets, type LlmProvider, type ProviderAnswer, type ProviderErrorKind, type ProviderUsage } from './providers';
import { budgetUtilisation, chooseTier, costOf, estimateUsage, type RouteDecision } from './router';
import { buildCostAnalytics, type CostAnalytics } from './analytics';

export type { LlmConfig, Tier, ProviderName } from './config';
export { DEFAULT_LLM_CONFIG, resolveLlmConfig } from './config';
export type { LlmRequest, LlmChoice, ShortlistItem } from './prompt';
export type { CostAnalytics } from './analytics';
export { BudgetLedger } from './budget';
export { mergeRankings } from './merge';

/** Minimal structured logger (pino's signature). Every string passed to it is scrubbed of keys. */
export interface LlmLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface LlmLayerOptions {
  /** Clock for budget days and the breakers (ms since epoch). Deadlines always use real time. */
  now?: () => number;
  logger?: LlmLogger;
}

export interface PredictOptions {
  /** Overrides cfg.deadlineMs for this call. */
  deadlineMs?: number;
  /** Caller cancellation (client went away); resolves at once with status 'skipped'. */
  signal?: AbortSignal;
}

export interface LlmOk {
  status: 'ok';
  provider: ProviderName;
  model: string;
  tier: Tier;
  choices: LlmChoice[];
  latencyMs: number;
  usage: ProviderUsage;
  costUsd: number;
  estimatedCostUsd: number;
  /** Items of the answer that were dropped. */
  discarded: Record<DiscardReason, number>;
  budgetUtilisation: number;
  costWarning: boolean;
  emergencyMode: boolean;
}

export interface LlmMiss {
  /** skipped: not asked (no key, budget, breakers, cancelled); deadline: out of time; failed: every provider failed. */
  status: 'skipped' | 'deadline' | 'failed';
  reason: string;
  latencyMs: number;
}

export type LlmOutcome = LlmOk | LlmMiss;

type CallOutcome = 'ok' | ProviderErrorKind;
export interface LlmStats {
  calls: Record<ProviderName, Record<CallOutcome, number>>;
  outcomes: Record<LlmOutcome['status'], number>;
  misses: number;
  discarded: Record<DiscardReason, number>;
  /** Spend recorded by this process since start, USD. */
  costUsd: number;
  breakers: Record<ProviderName, BreakerState>;
}

/** Below this much remaining time an attempt is not started (it could not complete). */
const MIN_ATTEMPT_MS = 20;

const zeroCalls = (): Record<CallOutcome, number> => ({ ok: 0, timeout: 0, rate_limited: 0, server: 0, client: 0, malformed: 0 });

export class LlmLayer {
  private readonly providers: LlmProvider[];
  private readonly breakers: Record<ProviderName, CircuitBreaker>;
  private readonly now: () => number;
  private readonly logger?: LlmLogger;
  private readonly secrets: string[];
  private readonly writes = new Set<Promise<void>>();
  private readonly counters: Omit<LlmStats, 'breakers'> = {
    calls: { anthropic: zeroCalls(), openai: zeroCalls() },
    outcomes: { ok: 0, skipped: 0, deadline: 0, failed: 0 },
    misses: 0,
    discarded: { malformed: 0, outside_shortlist: 0 },
    costUsd: 0,
  };

  constructor(
    private readonly cfg: Readonly<LlmConfig>,
    private readonly ledger: BudgetLedger,
    opts: LlmLayerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger;
    this.providers = createProviders(cfg);
    this.secrets = [cfg.anthropic.apiKey, cfg.openai.apiKey].filter((k): k is string => !!k);
    const b = (): CircuitBreaker => new CircuitBreaker({ ...cfg.breaker, now: this.now });
    this.breakers = { anthropic: b(), openai: b() };
  }

  /** True when at least one provider has a key (the budget may still skip calls). */
  get enabled(): boolean {
    return this.providers.length > 0;
  }

  /** Current routing decision for a request (also used for response metadata). */
  route(req: Pick<LlmRequest, 'prompt' | 'history'>): RouteDecision {
    return chooseTier(this.cfg, budgetUtilisation(this.ledger.today().spentUsd, this.cfg.dailyBudgetUsd), req);
  }

  async predict(req: LlmRequest, opts: PredictOptions = {}): Promise<LlmOutcome> {
    const start = performance.now();
    const miss = (status: LlmMiss['status'], reason: string): LlmMiss => missSince(start, status, reason);
    let outcome: LlmOutcome;
    if (!this.enabled) outcome = miss('skipped', 'not_configured');
    else if (req.shortlist.length === 0) outcome = miss('skipped', 'empty_shortlist');
    else if (opts.signal?.aborted) outcome = miss('skipped', 'cancelled');
    else {
      const decision = this.route(req);
      if (!decision.tier) outcome = miss('skipped', 'budget_exhausted');
      else outcome = await this.run(req, decision, decision.tier, start, opts);
    }
    this.finish(outcome);
    return outcome;
  }

  /** The deadline race around the provider loop. */
  private run(req: LlmRequest, decision: RouteDecision, tier: Tier, start: number, opts: PredictOptions): Promise<LlmOutcome> {
    const deadlineMs = opts.deadlineMs ?? this.cfg.deadlineMs;
    const deadlineAt = start + deadlineMs;
    const controller = new AbortController();
    return new Promise<LlmOutcome>((resolve) => {
      let settled = false;
      const settle = (o: LlmOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onCancel);
        resolve(o);
      };
      const onCancel = (): void => {
        controller.abort();
        settle(missSince(start, 'skipped', 'cancelled'));
      };
      // unref: a pending LLM deadline must never keep the process alive on shutdown.
      const timer = setTimeout(() => {
        controller.abort();
        settle(missSince(start, 'deadline', `no answer within ${deadlineMs} ms`));
      }, Math.max(0, deadlineMs));
      timer.unref();
      opts.signal?.addEventListener('abort', onCancel, { once: true });
      this.tryProviders(prepareRequest(req), decision, tier, deadlineAt, controller.signal, start, opts.signal).then(settle, (err: unknown) =>
        // A bug, not a provider problem; still never reject to the caller.
        settle(missSince(start, 'failed', `internal error: ${this.scrub(err instanceof Error ? err.message : String(err))}`)),
      );
    });
  }

  private async tryProviders(
    prepared: PreparedRequest,
    decision: RouteDecision,
    tier: Tier,
    deadlineAt: number,
    signal: AbortSignal,
    start: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<LlmOutcome> {
    const errors: string[] = [];
    let attempted = false;
    const miss = (status: LlmMiss['status'], reason: string): LlmMiss => missSince(start, status, reason);

    for (const provider of this.providers) {
      const name = provider.name;
      const breaker = this.breakers[name];
      if (!breaker.allow()) {
        errors.push(`${name}: circuit open`);
        continue;
      }
      const estimate = estimateUsage(this.cfg, name, prepared);
      const estimatedCostUsd = costOf(this.cfg, name, tier, estimate);
      if (estimatedCostUsd > this.cfg.dailyBudgetUsd - this.ledger.today().spentUsd) {
        breaker.release();
        errors.push(`${name}: estimated cost exceeds remaining budget`);
        continue;
      }
      const model = this.cfg[name].models[tier];
      let retried429 = false;
      let retried5xx = false;
      for (;;) {
        const remaining = deadlineAt - performance.now();
        if (signal.aborted || remaining < MIN_ATTEMPT_MS) {
          breaker.release();
          return callerSignal?.aborted ? miss('skipped', 'cancelled') : miss('deadline', 'deadline reached');
        }
        attempted = true;
        let answer: ProviderAnswer;
        try {
          answer = await provider.call(prepared, model, { signal, timeoutMs: remaining });
        } catch (err) {
          const pe = err instanceof ProviderError ? err : new ProviderError(name, 'malformed', `${name}: ${this.scrub(String(err))}`);
          this.counters.calls[name][pe.kind]++;
          if (callerSignal?.aborted) {
            breaker.release();
            return miss('skipped', 'cancelled');
          }
          if (signal.aborted || pe.kind === 'timeout') {
            breaker.failure();
            return miss('deadline', pe.message);
          }
          const left = deadlineAt - performance.now();
          const wait = pe.retryAfterMs;
          const fits = wait !== undefined && wait + MIN_ATTEMPT_MS < left;
          if (pe.kind === 'rate_limited' && !retried429 && fits) {
            retried429 = true;
            this.log('debug', { provider: name, waitMs: wait }, 'llm rate limited, retrying after wait');
            // After an aborted wait the loop head reports the deadline.
            await sleep(wait, signal);
            continue;
          } else if (pe.kind === 'server' && !retried5xx && (wait === undefined ? left > MIN_ATTEMPT_MS : fits)) {
            retried5xx = true;
            await sleep(wait ?? 0, signal);
            continue;
          }
          breaker.failure();
          errors.push(pe.message);
          this.log('warn', { provider: name, kind: pe.kind, status: pe.status }, pe.message);
          break;
        }

        // The call was answered, so it was billed: record the spend whatever the content.
        const usage = answer.usage ?? estimate;
        const costUsd = costOf(this.cfg, name, tier, usage);
        this.recordSpend({ spentUsd: costUsd, calls: 1, provider: name, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
        const parsed = parseAnswer(answer.raw, prepared.ids, prepared.k);
        this.counters.discarded.malformed += parsed.discarded.malformed;
        this.counters.discarded.outside_shortlist += parsed.discarded.outside_shortlist;
        if (!parsed.wellFormed) {
          this.counters.calls[name].malformed++;
          breaker.failure();
          errors.push(`${name}: malformed answer`);
          this.log('warn', { provider: name, kind: 'malformed' }, `${name}: malformed answer discarded`);
          break;
        }
        this.counters.calls[name].ok++;
        breaker.success();
        return {
          status: 'ok',
          provider: name,
          model,
          tier,
          choices: parsed.choices,
          latencyMs: performance.now() - start,
          usage,
          costUsd,
          estimatedCostUsd,
          discarded: parsed.discarded,
          budgetUtilisation: decision.utilisation,
          costWarning: decision.costWarning,
          emergencyMode: decision.emergencyMode,
        };
      }
    }
    if (!attempted) {
      const reason = errors.every((e) => e.endsWith('circuit open')) ? 'circuit_open' : 'estimate_exceeds_budget';
      return miss('skipped', reason);
    }
    return miss('failed', errors.join('; ') || 'no provider answered');
  }

  /** Outcome accounting, once per predict(). */
  private finish(o: LlmOutcome): void {
    this.counters.outcomes[o.status]++;
    if (o.status === 'ok') {
      this.recordSpend({ predictions: 1, tier: o.tier });
      this.log('debug', { provider: o.provider, model: o.model, tier: o.tier, latencyMs: Math.round(o.latencyMs), costUsd: o.costUsd, choices: o.choices.length }, 'llm answered');
    } else if (o.status === 'deadline' || o.status === 'failed') {
      this.counters.misses++;
      this.recordSpend({ misses: 1 });
      this.log('warn', { status: o.status, reason: o.reason, latencyMs: Math.round(o.latencyMs) }, 'llm miss');
    }
  }

  private recordSpend(delta: SpendDelta): void {
    this.counters.costUsd += delta.spentUsd ?? 0;
    const p = this.ledger.record(delta).catch((err: unknown) => {
      this.log('error', { err: err instanceof Error ? err.message : String(err) }, 'budget ledger write failed');
    });
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  /** Resolves when every ledger write issued so far is committed. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  costAnalytics(): CostAnalytics {
    return buildCostAnalytics(this.cfg, this.ledger.today(), this.ledger.total(), this.now());
  }

  stats(): LlmStats {
    const c = this.counters;
    const calls = {} as LlmStats['calls'];
    const breakers = {} as LlmStats['breakers'];
    for (const p of PROVIDERS) {
      calls[p] = { ...c.calls[p] };
      breakers[p] = this.breakers[p].state;
    }
    return { calls, outcomes: { ...c.outcomes }, misses: c.misses, discarded: { ...c.discarded }, costUsd: c.costUsd, breakers };
  }

  private scrub(s: string): string {
    return scrubSecrets(s, this.secrets);
  }

  private log(level: keyof LlmLogger, obj: Record<string, unknown>, msg: string): void {
    if (!this.logger) return;
    const safe: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) safe[k] = typeof v === 'string' ? this.scrub(v) : v;
    this.logger[level](safe, this.scrub(msg));
  }
}

/** Wait ms, or less if the signal aborts first (the caller re-checks the signal). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function missSince(start: number, status: LlmMiss['status'], reason: string): LlmMiss {
  return { status, reason, latencyMs: performance.now() - start };
}
