/**
 * Turns ranked endpoint indexes into the seed-compatible /predict response shape.
 * Only endpoints of the catalog can appear: everything is looked up by index.
 */
import type { Catalog } from '../engine/types';

export interface Prediction {
  api_call: string;
  method: string;
  description: string;
  parameters: Record<string, string | number | boolean | null>;
  confidence: number;
  ml_ranking_score: number;
  rank: number;
  reasoning?: string;
  ai_provider: string;
  semantic_similarity: number;
  safety_validated: boolean;
  cold_start_prediction: boolean;
  /** Set when the endpoint looks administrative/debug/internal (flagged, not removed). */
  sensitive?: string;
}

export interface RankedItem {
  endpoint: number;
  score: number;
  similarity: number;
  params: Record<string, string>;
  reasoning?: string;
  provider?: string;
}

/**
 * Confidence is the softmax of the ranker scores over the returned list, sharpened or
 * flattened by `temperature` (default 1): it sums to 1 across the candidates shown and
 * keeps the ranker's order.
 */
export function confidences(scores: readonly number[], temperature = 1): number[] {
  if (scores.length === 0) return [];
  const t = Math.max(temperature, 0.05);
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp((s - max) / t));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => round4(e / sum));
}

export function toPredictions(catalog: Catalog, items: readonly RankedItem[], opts: { temperature?: number; coldStart: boolean; provider: string }): Prediction[] {
  const conf = confidences(
    items.map((i) => i.score),
    opts.temperature,
  );
  return items.map((item, i) => {
    const e = catalog.endpoints[item.endpoint]!;
    return {
      api_call: e.id,
      method: e.method,
      description: e.summary || e.description || e.operationId || e.id,
      parameters: { ...item.params },
      confidence: conf[i]!,
      ml_ranking_score: round4(item.score),
      rank: i + 1,
      ...(item.reasoning ? { reasoning: item.reasoning } : {}),
      ai_provider: item.provider ?? opts.provider,
      semantic_similarity: round4(item.similarity),
      safety_validated: false,
      cold_start_prediction: opts.coldStart,
    };
  });
}

export function round4(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : 0;
}
