/**
 * Cost-aware routing: which tier to ask, what it will probably cost, what it did cost.
 * Pure functions; the budget numbers come from the ledger.
 *
 *   utilisation (spent / daily budget)   tier
 *   < warning (0.75)                     balanced; premium in quality mode for complex requests
 *   warning .. emergency (0.9)           balanced, cost_warning
 *   emergency .. 1                       fast only, emergency_mode
 *   >= 1                                 LLM off until the next UTC day
 */
import type { LlmConfig, ProviderName, Tier } from './config';
import type { LlmRequest, PreparedRequest } from './prompt';
import type { ProviderUsage } from './providers';

export interface RouteDecision {
  /** Tier to ask, or undefined when the LLM is off for the rest of the day. */
  tier?: Tier;
  utilisation: number;
  costWarning: boolean;
  emergencyMode: boolean;
}

/** Spent / budget; a zero budget means the LLM is off. */
export function budgetUtilisation(spentUsd: number, dailyBudgetUsd: number): number {
  if (dailyBudgetUsd <= 0) return spentUsd > 0 ? Infinity : 1;
  return spentUsd / dailyBudgetUsd;
}

// Clause boundaries: punctuation and the conjunctions people use to chain steps.
const CLAUSE_SPLIT = /[,;:.!?]|\b(?:and|then|after|before|but|also|finally)\b/gi;

/**
 * A request is complex (worth the premium tier) when the prompt is long, chains several
 * steps, or comes after a long history.
 */
export function isComplex(req: Pick<LlmRequest, 'prompt' | 'history'>): boolean {
  if (req.prompt.length > 300 || req.history.length >= 5) return true;
  const clauses = req.prompt.split(CLAUSE_SPLIT).filter((s) => s !== undefined && s.trim().length > 2);
  return clauses.length >= 4;
}

export function chooseTier(cfg: Readonly<LlmConfig>, utilisation: number, req: Pick<LlmRequest, 'prompt' | 'history'>): RouteDecision {
  const costWarning = utilisation >= cfg.warningThreshold;
  if (utilisation >= 1) return { utilisation, costWarning, emergencyMode: true };
  if (!cfg.costOptimization) {
    const tier: Tier = cfg.qualityMode && isComplex(req) ? 'premium' : 'balanced';
    return { tier, utilisation, costWarning, emergencyMode: false };
  }
  if (utilisation >= cfg.emergencyThreshold) return { tier: 'fast', utilisation, costWarning, emergencyMode: true };
  if (costWarning) return { tier: 'balanced', utilisation, costWarning, emergencyMode: false };
  const tier: Tier = cfg.qualityMode && isComplex(req) ? 'premium' : 'balanced';
  return { tier, utilisation, costWarning, emergencyMode: false };
}

/**
 * Tokens the provider adds around a request: Anthropic's tool-use system prompt is a few
 * hundred tokens; OpenAI's chat framing a handful.
 */
const FRAMING_TOKENS: Record<ProviderName, number> = { anthropic: 350, openai: 20 };

/**
 * Token estimate before the call: characters / 4 over everything sent (system prompt,
 * user message, schema), plus framing; output sized for k choices with short reasoning,
 * capped by maxOutputTokens.
 */
export function estimateUsage(cfg: Readonly<LlmConfig>, provider: ProviderName, req: PreparedRequest): ProviderUsage {
  return {
    inputTokens: Math.ceil(req.inputChars / 4) + FRAMING_TOKENS[provider],
    outputTokens: Math.min(cfg.maxOutputTokens, 30 + 70 * req.k),
  };
}

/** USD for the given usage at the configured price of provider x tier. */
export function costOf(cfg: Readonly<LlmConfig>, provider: ProviderName, tier: Tier, usage: ProviderUsage): number {
  const p = cfg.prices[provider][tier];
  return (usage.inputTokens * p.inputPerMTok + usage.outputTokens * p.outputPerMTok) / 1e6;
}
