/**
 * Config (environment) -> LlmLayer. Returns undefined when no provider key is set, so
 * the service answers from the ranker alone and says so in its metadata.
 */
import type { Store } from '../store';
import type { Config } from './config';
import { BudgetLedger, LlmLayer, resolveLlmConfig, type Tier } from './llm';
import type { Logger } from './logger';

export function createLlmLayer(config: Readonly<Config>, store: Store<unknown>, logger: Logger): LlmLayer | undefined {
  const e = config.llm;
  if (!e.anthropicApiKey && !e.openaiApiKey) return undefined;
  const models = (provider: 'anthropic' | 'openai'): Partial<Record<Tier, string>> => {
    const out: Partial<Record<Tier, string>> = {};
    for (const tier of ['fast', 'balanced', 'premium'] as const) {
      const name = e.models[`${provider}.${tier}`];
      if (name) out[tier] = name;
    }
    return out;
  };
  const cfg = resolveLlmConfig({
    anthropic: { apiKey: e.anthropicApiKey, baseURL: e.anthropicBaseUrl, models: models('anthropic') },
    openai: { apiKey: e.openaiApiKey, baseURL: e.openaiBaseUrl, models: models('openai') },
    deadlineMs: e.deadlineMs,
    dailyBudgetUsd: e.dailyBudgetUsd,
    costPerPredictionTarget: e.costPerPredictionTarget,
    llmWeight: e.llmWeight,
    qualityMode: e.qualityMode,
  });
  const ledger = new BudgetLedger(store.budgetDb, {});
  return new LlmLayer(cfg, ledger, { logger: logger.child({ component: 'llm' }) });
}
