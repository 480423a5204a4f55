/**
 * The rule-based scorer used when no ranker model is loaded (a fresh checkout before
 * `npm run train`, or a model file that was refused). A fixed linear mix of the same
 * features the trained ranker sees, so the two are interchangeable behind `Scorer`.
 */
import { FEATURE_NAMES, NUM_FEATURES } from './features';
import type { Scorer } from './predictor';

const WEIGHTS: Partial<Record<(typeof FEATURE_NAMES)[number], number>> = {
  prompt_similarity: 2,
  lexical_score: 1.5,
  param_chain: 1,
  unsatisfied_params: -0.8,
  downstream_similarity: 0.8,
  resource_in_prompt: 0.5,
  bigram_prob: 3,
  trigram_prob: 1,
};

const W = new Float32Array(NUM_FEATURES);
for (const [name, w] of Object.entries(WEIGHTS)) W[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])] = w!;
const RESOURCE_MATCH = FEATURE_NAMES.indexOf('resource_match');
const HISTORY_POSITION = FEATURE_NAMES.indexOf('history_position');

export const heuristicScorer: Scorer = (features, rows, stride) => {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * stride;
    let s = 0;
    for (let f = 0; f < NUM_FEATURES; f++) {
      const x = features[o + f]!;
      if (!Number.isNaN(x)) s += W[f]! * x;
    }
    if (features[o + RESOURCE_MATCH] === 2) s += 0.5;
    if (features[o + HISTORY_POSITION] === 1) s -= 1; // rarely the same call twice in a row
    out[r] = s;
  }
  return out;
};
