/**
 * GET /health: each component's status. Required components (store, worker pool, at
 * least one spec) make the service "down" (503) when they fail; optional ones (trained
 * ranker, LLM) only make it "degraded".
 */
import { SCHEMA_VERSION } from '../../store';
import type { ServerContext } from '../app';

type Status = 'ok' | 'degraded' | 'down';

export interface HealthReport {
  status: Status;
  uptime_s: number;
  components: Record<string, { status: Status; [k: string]: unknown }>;
}

const PROBE_TIMEOUT_MS = 2000;

export async function healthReport(ctx: ServerContext): Promise<HealthReport> {
  const components: HealthReport['components'] = {};

  try {
    const stats = ctx.store.stats();
    components.store = { status: 'ok', path: ctx.config.dataDir, schema_version: SCHEMA_VERSION, migrated_at_open: ctx.store.schema.migrated, caches: stats };
  } catch (err) {
    components.store = { status: 'down', error: (err as Error).message };
  }

  const pool = ctx.pool.stats();
  try {
    const probe = await Promise.race([
      ctx.pool.probe(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS).unref()),
    ]);
    components.pool = { status: 'ok', ...pool };
    components.embedding_model = { status: 'ok', loaded: true, name: probe.encoderName, dimensions: probe.encoderDim };
    components.ranker = probe.modelLoaded
      ? { status: 'ok', model_version: probe.modelVersion, evaluator: probe.evaluator }
      : { status: 'degraded', model_version: probe.modelVersion, evaluator: probe.evaluator, error: probe.modelError ?? 'no model file' };
  } catch (err) {
    components.pool = { status: pool.queueSize >= pool.maxQueue ? 'degraded' : 'down', ...pool, error: (err as Error).message };
  }

  const ids = ctx.specs.ids();
  components.specs = { status: ids.length ? 'ok' : 'down', count: ids.length, default_spec: ctx.config.defaultSpec, default_loaded: ids.includes(ctx.config.defaultSpec) };

  components.llm = ctx.llm
    ? { status: 'ok', enabled: true, ...summariseLlm(ctx) }
    : { status: 'ok', enabled: false, reason: 'no ANTHROPIC_API_KEY or OPENAI_API_KEY' };

  const statuses = Object.values(components).map((c) => c.status);
  const status: Status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000), components };
}

function summariseLlm(ctx: ServerContext): Record<string, unknown> {
  const s = ctx.llm!.stats();
  return { breakers: s.breakers, outcomes: s.outcomes, misses: s.misses, cost_usd: s.costUsd };
}
