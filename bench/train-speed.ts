/**
 * LambdaMART training speed: 20,000 groups x 6 candidates x 17 features (planted signal),
 * 100 trees x 31 leaves with early stopping off, so every round is timed.
 *
 *   npx ts-node --transpile-only bench/train-speed.ts
 *
 * Prints one JSON object: dataset size, wall time, NDCG@3 and the machine.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ndcgAtK, trainLambdaMart } from '../training/lambdamart';
import { syntheticRanking } from '../training/lambdamart-synthetic';

const GROUPS = 20_000;
const PER_GROUP = 6;
const FEATURES = 17;

function main(): void {
  const genStart = performance.now();
  const data = syntheticRanking({ groups: GROUPS, perGroup: PER_GROUP, numFeatures: FEATURES, seed: 7 });
  const generateMs = performance.now() - genStart;

  const result = trainLambdaMart(data, { n_estimators: 100, num_leaves: 31, early_stopping_rounds: 0 });

  // Reference points on the same rows: the planted utility's strongest single feature.
  const single = new Float32Array(data.labels.length);
  for (let r = 0; r < single.length; r++) single[r] = data.features[r * FEATURES];
  const trees = result.model.trees;
  const leaves = trees.reduce((n, t) => n + t.leaf_value.length, 0);
  const report = {
    scenario: 'train-speed',
    rows: data.labels.length,
    groups: GROUPS,
    features: FEATURES,
    trees: trees.length,
    mean_leaves: Number((leaves / trees.length).toFixed(2)),
    generate_s: Number((generateMs / 1000).toFixed(3)),
    train_s: Number((result.metrics.duration_ms / 1000).toFixed(3)),
    valid_ndcg_at_3: Number(result.metrics.valid_ndcg_at_k.toFixed(4)),
    train_ndcg_at_3: Number(result.metrics.train_ndcg_at_k.toFixed(4)),
    single_feature_ndcg_at_3: Number(ndcgAtK(single, data.labels, data.groups, 3).toFixed(4)),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main();
