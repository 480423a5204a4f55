/**
 * LLM layer configuration: plain data, no environment reads. The server's config module
 * resolves OPENSESAME_* / ANTHROPIC_* / OPENAI_* variables and passes the result to
 * `resolveLlmConfig`, which merges it over `DEFAULT_LLM_CONFIG` and validates every value
 * with a message naming the option.
 */

/** Model tiers, cheapest first. */
export const TIERS = ['fast', 'balanced', 'premium'] as const;
export type Tier = (typeof TIERS)[number];

/** Providers in the order the layer tries them. */
export const PROVIDERS = ['anthropic', 'openai'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Model name per tier for one provider. */
export interface TierModels {
  fast: string;
  balanced: string;
  premium: string;
}

/** List price of one model, USD per million tokens. */
export interface TierPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

export interface ProviderConfig {
  /** API key; the provider is unused when it is missing or empty. Never logged. */
  apiKey?: string;
  /**
   * Base URL handed to the SDK. Anthropic's SDK appends `/v1/messages`; OpenAI's appends
   * `/chat/completions`, so an OpenAI-compatible server is usually `http://host:port/v1`.
   * When missing, the public API's URL is used (we pass it explicitly so the SDKs never
   * fall back to their own environment variables).
   */
  baseURL?: string;
  /** Model name per tier. */
  models: TierModels;
}

export interface BreakerConfig {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold: number;
  /** How long the breaker stays open before one trial call is let through. Default 30 s. */
  openMs: number;
}

export interface LlmConfig {
  anthropic: ProviderConfig;
  openai: ProviderConfig;
  /** Price per tier per provider, used for estimates and for recorded spend. */
  prices: Record<ProviderName, Record<Tier, TierPrice>>;
  /** Time budget of one predict() call, retries and fallback included. Default 600 ms. */
  deadlineMs: number;
  /** Daily (UTC) spend limit. At 100 % the LLM is off until the next UTC day. Default $100. */
  dailyBudgetUsd: number;
  /** Target average cost of one LLM prediction, reported by cost analytics. Default $0.005. */
  costPerPredictionTarget: number;
  /** Budget utilisation at which `cost_warning` is raised and premium is no longer used. 0.75. */
  warningThreshold: number;
  /** Budget utilisation from which only the fast tier is used (`emergency_mode`). 0.9. */
  emergencyThreshold: number;
  /**
   * Cost-aware routing on/off. When off, the tier never drops below balanced on account of
   * the budget (the hard stop at 100 % still applies). Default true.
   */
  costOptimization: boolean;
  /** Use the premium tier for long or complex requests while under the warning line. Default true. */
  qualityMode: boolean;
  /** k of reciprocal-rank fusion (see merge.ts). Default 60. */
  rrfK: number;
  /** Weight of the LLM's rank in the fusion; 1 = as strong as the ML rank. Default 1.0. */
  llmWeight: number;
  /** How many ML candidates are offered to the LLM to choose from. Default 15. */
  shortlistSize: number;
  /** Cap on the answer length in tokens (also the output part of the cost estimate's ceiling). Default 600. */
  maxOutputTokens: number;
  /** Sampling temperature sent to both providers; omit for models that reject it. Default 0. */
  temperature?: number;
  breaker: BreakerConfig;
}

/**
 * Defaults. Models are current names that the installed SDK does not list as deprecated
 * (claude-sonnet-4-5 reaches end of life on 2026-11-30); prices are the providers' list
 * prices per million tokens at the time of writing:
 *
 * | provider  | fast                      | balanced                   | premium                  |
 * |-----------|---------------------------|----------------------------|--------------------------|
 * | anthropic | claude-haiku-4-5 $1 / $5  | claude-sonnet-4-6 $3 / $15 | claude-opus-4-7 $5 / $25  |
 * | openai    | gpt-4.1-nano $0.10 / $0.40 | gpt-4.1-mini $0.40 / $1.60 | gpt-4.1 $2 / $8          |
 */
export const DEFAULT_LLM_CONFIG: Readonly<LlmConfig> = deepFreeze({
  anthropic: {
    models: { fast: 'claude-haiku-4-5', balanced: 'claude-sonnet-4-6', premium: 'claude-opus-4-7' },
  },
  openai: {
    models: { fast: 'gpt-4.1-nano', balanced: 'gpt-4.1-mini', premium: 'gpt-4.1' },
  },
  prices: {
    anthropic: {
      fast: { inputPerMTok: 1, outputPerMTok: 5 },
      balanced: { inputPerMTok: 3, outputPerMTok: 15 },
      premium: { inputPerMTok: 5, outputPerMTok: 25 },
    },
    openai: {
      fast: { inputPerMTok: 0.1, outputPerMTok: 0.4 },
      balanced: { inputPerMTok: 0.4, outputPerMTok: 1.6 },
      premium: { inputPerMTok: 2, outputPerMTok: 8 },
    },
  },
  deadlineMs: 600,
  dailyBudgetUsd: 100,
  costPerPredictionTarget: 0.005,
  warningThreshold: 0.75,
  emergencyThreshold: 0.9,
  costOptimization: true,
  qualityMode: true,
  rrfK: 60,
  llmWeight: 1.0,
  shortlistSize: 15,
  maxOutputTokens: 600,
  temperature: 0,
  breaker: { failureThreshold: 5, openMs: 30_000 },
});

/** Public endpoints used when a provider has no baseURL configured. */
export const DEFAULT_BASE_URLS: Readonly<Record<ProviderName, string>> = Object.freeze({
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
});

/** Recursive partial used for overrides. */
export type LlmConfigOverrides = {
  [K in keyof LlmConfig]?: LlmConfig[K] extends object ? DeepPartial<LlmConfig[K]> : LlmConfig[K];
};
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * Merge overrides over the defaults, validate, and freeze. Throws an Error naming the
 * offending option (a configuration fault, raised once at start).
 */
export function resolveLlmConfig(overrides: LlmConfigOverrides = {}): Readonly<LlmConfig> {
  const merged = deepMerge(structuredClone(DEFAULT_LLM_CONFIG) as unknown as Record<string, unknown>, overrides) as unknown as LlmConfig;
  validate(merged);
  return deepFreeze(merged);
}

function validate(c: LlmConfig): void {
  const positive = (name: string, v: unknown, allowZero = false): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw new Error(`llm config: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`);
    }
  };
  const fraction = (name: string, v: unknown): void => {
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) throw new Error(`llm config: ${name} must be in (0, 1], got ${String(v)}`);
  };
  for (const p of PROVIDERS) {
    const pc = c[p];
    if (pc.apiKey !== undefined && typeof pc.apiKey !== 'string') throw new Error(`llm config: ${p}.apiKey must be a string`);
    if (pc.baseURL !== undefined) {
      try {
        new URL(pc.baseURL);
      } catch {
        throw new Error(`llm config: ${p}.baseURL is not a valid URL`);
      }
    }
    for (const t of TIERS) {
      if (typeof pc.models[t] !== 'string' || pc.models[t] === '') throw new Error(`llm config: ${p}.models.${t} must be a non-empty string`);
      positive(`prices.${p}.${t}.inputPerMTok`, c.prices[p][t].inputPerMTok, true);
      positive(`prices.${p}.${t}.outputPerMTok`, c.prices[p][t].outputPerMTok, true);
    }
  }
  positive('deadlineMs', c.deadlineMs);
  positive('dailyBudgetUsd', c.dailyBudgetUsd, true);
  positive('costPerPredictionTarget', c.costPerPredictionTarget, true);
  fraction('warningThreshold', c.warningThreshold);
  fraction('emergencyThreshold', c.emergencyThreshold);
  if (c.emergencyThreshold < c.warningThreshold) throw new Error('llm config: emergencyThreshold must be >= warningThreshold');
  positive('rrfK', c.rrfK, true);
  positive('llmWeight', c.llmWeight, true);
  if (!Number.isInteger(c.shortlistSize) || c.shortlistSize < 1) throw new Error('llm config: shortlistSize must be a positive integer');
  if (!Number.isInteger(c.maxOutputTokens) || c.maxOutputTokens < 16) throw new Error('llm config: maxOutputTokens must be an integer >= 16');
  if (c.temperature !== undefined) positive('temperature', c.temperature, true);
  if (!Number.isInteger(c.breaker.failureThreshold) || c.breaker.failureThreshold < 1) throw new Error('llm config: breaker.failureThreshold must be a positive integer');
  positive('breaker.openMs', c.breaker.openMs);
  if (typeof c.qualityMode !== 'boolean') throw new Error('llm config: qualityMode must be a boolean');
  if (typeof c.costOptimization !== 'boolean') throw new Error('llm config: costOptimization must be a boolean');
}

function deepMerge(base: Record<string, unknown>, over: object): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const cur = base[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object') {
      base[k] = deepMerge(cur as Record<string, unknown>, v as object);
    } else {
      base[k] = v;
    }
  }
  return base;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
