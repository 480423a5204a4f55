/**
 * Fusion of the ML ranking with the LLM's choices.
 *
 * Rule (weighted reciprocal-rank fusion):
 *
 *   fused(id) = 1 / (k + mlRank(id))  +  w * 1 / (k + llmRank(id))
 *
 * - mlRank is the 1-based position in the ML list sorted by score (descending; ties keep
 *   input order). llmRank is the 1-based position in the LLM's list as given (the model
 *   lists its choices most likely first; its confidences are not comparable with ML
 *   scores, so only the order is used). The second term is absent when the LLM did not
 *   choose the id.
 * - Only ids in the ML candidate list can appear in the result. An id chosen only by the
 *   LLM is dropped: the ML list passed in is the whole candidate set the LLM was offered
 *   (its shortlist is a prefix of it), so an LLM-only id is not a catalog candidate, and
 *   a prediction must never name an endpoint outside the catalog.
 * - Repeated ids: the first occurrence in each list counts.
 * - k (rrfK, default 60) damps the head: larger k makes neighbouring ranks count more
 *   alike. w (llmWeight, default 1) is how much the LLM's opinion weighs against the ML
 *   ranker's; with w = 1, an id ranked 3rd by ML and 1st by the LLM overtakes one ranked
 *   1st by ML and not chosen by the LLM.
 * - Result order: fused descending, then mlRank ascending.
 */

export interface MergeOptions {
  /** RRF constant k (>= 0). */
  rrfK: number;
  /** Weight of the LLM term (>= 0). */
  llmWeight: number;
}

export interface MergedItem {
  id: string;
  fused: number;
  mlRank: number;
  llmRank?: number;
}

export function mergeRankings(
  ml: readonly { id: string; score: number }[],
  llm: readonly { id: string; confidence: number }[],
  opts: MergeOptions,
): MergedItem[] {
  const order = ml.map((m, i) => ({ m, i }));
  order.sort((a, b) => b.m.score - a.m.score || a.i - b.i);
  const mlRank = new Map<string, number>();
  for (const { m } of order) if (!mlRank.has(m.id)) mlRank.set(m.id, mlRank.size + 1);

  const llmRank = new Map<string, number>();
  let r = 0;
  for (const c of llm) {
    if (llmRank.has(c.id) || !mlRank.has(c.id)) continue;
    llmRank.set(c.id, ++r);
  }

  const out: MergedItem[] = [];
  for (const [id, rank] of mlRank) {
    const lr = llmRank.get(id);
    const fused = 1 / (opts.rrfK + rank) + (lr === undefined ? 0 : opts.llmWeight / (opts.rrfK + lr));
    out.push(lr === undefined ? { id, fused, mlRank: rank } : { id, fused, mlRank: rank, llmRank: lr });
  }
  out.sort((a, b) => b.fused - a.fused || a.mlRank - b.mlRank);
  return out;
}
