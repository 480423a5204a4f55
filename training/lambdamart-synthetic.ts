/**
 * Seeded synthetic ranking data with a planted signal, for the trainer's tests and its
 * speed benchmark. Not a stand-in for real workflow data (training/ has a generator for
 * that); it only needs a known answer that no single feature gives away.
 *
 * Each group has `perGroup` candidates with uniform [0, 1) features. The hidden utility is
 *
 *   u = 2*x0 + 1.5*(x1 > 0.5 ? x2 : -x2) + (x3 is missing ? 1 : 0) + 0.8*x4*x5 + noise
 *
 * so it needs a main effect, an interaction and a missingness signal to recover; the
 * best candidate by u gets label 2, the runner-up label 1, the rest 0. Features beyond the
 * sixth are noise.
 */
import type { RankingDataset } from './lambdamart-params';
import { createRng } from './lambdamart-rng';

export interface SyntheticOptions {
  /** Query groups. */
  groups: number;
  /** Candidates per group. Default 6. */
  perGroup?: number;
  /** Feature columns, at least 6. Default 17. */
  numFeatures?: number;
  /** Standard deviation of the utility noise. Default 0.3. */
  noise?: number;
  /** Probability that feature 3 is missing (the planted missingness signal). Default 0.3. */
  missingRate?: number;
  /** Default 1. */
  seed?: number;
}

export function syntheticRanking(opts: SyntheticOptions): RankingDataset {
  const perGroup = opts.perGroup ?? 6;
  const numFeatures = opts.numFeatures ?? 17;
  const noise = opts.noise ?? 0.3;
  const missingRate = opts.missingRate ?? 0.3;
  if (numFeatures < 6) throw new RangeError('syntheticRanking: numFeatures must be >= 6');
  const rng = createRng(opts.seed ?? 1);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const rows = opts.groups * perGroup;
  const features = new Float32Array(rows * numFeatures);
  const labels = new Float32Array(rows);
  const groups = new Uint32Array(opts.groups).fill(perGroup);
  const utility = new Float64Array(perGroup);
  for (let g = 0; g < opts.groups; g++) {
    for (let c = 0; c < perGroup; c++) {
      const at = (g * perGroup + c) * numFeatures;
      for (let f = 0; f < numFeatures; f++) features[at + f] = rng.next();
      // A coarse feature: few distinct values, like counts in real features.
      features[at + 5] = Math.floor(features[at + 5] * 4) / 4;
      const missing = rng.next() < missingRate;
      if (missing) features[at + 3] = NaN;
      const x = (f: number): number => features[at + f];
      utility[c] = 2 * x(0) + 1.5 * (x(1) > 0.5 ? x(2) : -x(2)) + (missing ? 1 : 0) + 0.8 * x(4) * x(5) + noise * gauss();
    }
    let first = 0;
    for (let c = 1; c < perGroup; c++) if (utility[c] > utility[first]) first = c;
    let second = -1;
    for (let c = 0; c < perGroup; c++) if (c !== first && (second < 0 || utility[c] > utility[second])) second = c;
    labels[g * perGroup + first] = 2;
    if (second >= 0) labels[g * perGroup + second] = 1;
  }
  const featureNames = Array.from({ length: numFeatures }, (_, f) => `f${f}`);
  return { features, labels, groups, featureNames };
}
