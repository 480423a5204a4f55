/**
 * The `/cost-analytics` document, in the seed's shape (snake_case field names).
 */
import type { LlmConfig, Tier } from './config';
import type { DayRecord, TotalRecord } from './budget';
import { budgetUtilisation } from './router';

export const OPTIMIZATION_VERSION = 'v1.0';

export interface CostAnalytics {
  cost_analytics: {
    daily_budget_usd: number;
    daily_spent_usd: number;
    budget_utilization: number;
    avg_cost_per_prediction: number;
    cost_target: number;
    predictions_today: number;
    total_predictions: number;
  };
  /** Successful LLM predictions today per tier. */
  model_usage: Record<Tier, number>;
  cost_optimization: {
    enabled: boolean;
    emergency_mode: boolean;
    cost_warning: boolean;
    optimization_version: string;
  };
  performance_targets: {
    cost_per_prediction_met: boolean;
    budget_on_track: boolean;
  };
}

const DAY_MS = 86_400_000;

/**
 * Average cost is today's spend (failed and malformed calls included: they were billed)
 * over today's successful predictions. The budget is on track while spend is under the
 * warning line, or no further into the budget than the UTC day is into its 24 hours.
 */
export function buildCostAnalytics(cfg: Readonly<LlmConfig>, today: DayRecord, total: TotalRecord, nowMs: number): CostAnalytics {
  const utilisation = budgetUtilisation(today.spentUsd, cfg.dailyBudgetUsd);
  const avg = today.predictions > 0 ? today.spentUsd / today.predictions : 0;
  const dayFraction = (nowMs % DAY_MS) / DAY_MS;
  return {
    cost_analytics: {
      daily_budget_usd: cfg.dailyBudgetUsd,
      daily_spent_usd: round(today.spentUsd),
      budget_utilization: round(utilisation),
      avg_cost_per_prediction: round(avg),
      cost_target: cfg.costPerPredictionTarget,
      predictions_today: today.predictions,
      total_predictions: total.predictions,
    },
    model_usage: { ...today.byTier },
    cost_optimization: {
      enabled: cfg.costOptimization,
      emergency_mode: cfg.costOptimization && utilisation >= cfg.emergencyThreshold,
      cost_warning: utilisation >= cfg.warningThreshold,
      optimization_version: OPTIMIZATION_VERSION,
    },
    performance_targets: {
      cost_per_prediction_met: avg <= cfg.costPerPredictionTarget,
      budget_on_track: utilisation < cfg.warningThreshold || utilisation <= dayFraction,
    },
  };
}

/** Round to 1e-9 USD: enough for per-call costs, free of float noise in reports. */
function round(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1e9) / 1e9 : v;
}
