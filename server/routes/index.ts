/**
 * Route table. Each handler is a plain function of the copied request (see
 * uws-adapter.ts); errors are thrown from the catalog and rendered in one place.
 */
import type { ServerContext } from '../app';
import { check, validatePredict } from '../schemas';
import type { HttpReply, HttpRequest } from '../uws-adapter';
import { jsonBody, rateLimit, rateLimitHeaders } from './common';
import { registerFeedbackRoutes } from './feedback';
import { registerJobRoutes } from './jobs';
import { registerDocsRoutes } from './docs';
import { registerSpecRoutes } from './specs';
import { healthReport } from './health';
import { registerWsRoutes } from './ws';

export function registerRoutes(ctx: ServerContext): void {
  const { http, metrics, logger } = ctx;

  // Rate-limit headers on every answer of a counted request, errors included.
  http.extraHeaders = rateLimitHeaders;
  http.onResponse = (req, reply, route, startedAt) => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    metrics.requests.inc({ route, method: req.method, status: String(reply.status) });
    metrics.requestSeconds.observe({ route }, seconds);
    if (reply.status >= 500) logger.error({ request_id: req.id, route, status: reply.status }, 'request failed');
    else logger.debug({ request_id: req.id, route, status: reply.status, ms: seconds * 1000 }, 'request');
  };

  http.route('get', '/', () => ({
    status: 200,
    body: {
      service: 'OpenSesame Predictor',
      status: 'ok',
      model_version: ctx.predictor.currentModelVersion,
      specs: ctx.specs.ids(),
      default_spec: ctx.config.defaultSpec,
      docs: '/docs',
      endpoints: ['/predict', '/ws', '/specs', '/feedback', '/train', '/generate-data', '/jobs', '/health', '/metrics', '/cost-analytics', '/docs', '/openapi.json'],
    },
  }));

  http.route(
    'post',
    '/predict',
    async (req: HttpRequest): Promise<HttpReply> => {
      const limitHeaders = rateLimit(ctx, req);
      const body = check(validatePredict, jsonBody(req));
      const json = await ctx.predictor.predictJson(body, req.id, { abortSignal: req.abortSignal });
      if (ctx.config.logPrompts) logger.debug({ request_id: req.id, prompt: body.prompt }, 'prompt');
      return { status: 200, body: json, contentType: 'application/json', headers: limitHeaders };
    },
    { body: true },
  );

  http.route('get', '/health', async () => {
    const report = await healthReport(ctx);
    return { status: report.status === 'ok' || report.status === 'degraded' ? 200 : 503, body: report };
  });

  http.route('get', '/metrics', async () => {
    const s = ctx.pool.stats();
    metrics.poolQueue.set(s.queueSize);
    metrics.poolUtilization.set(s.utilization);
    metrics.poolThreads.set(s.threads);
    metrics.poolFailures.set(s.failures);
    const text = await metrics.registry.metrics();
    return { status: 200, body: text, contentType: metrics.registry.contentType };
  });

  http.route('get', '/cost-analytics', () => {
    if (!ctx.llm) {
      return {
        status: 200,
        body: {
          cost_analytics: {
            daily_budget_usd: ctx.config.llm.dailyBudgetUsd,
            daily_spent_usd: 0,
            budget_utilization: 0,
            avg_cost_per_prediction: 0,
            cost_target: ctx.config.llm.costPerPredictionTarget,
            predictions_today: 0,
            total_predictions: 0,
          },
          model_usage: { fast: 0, balanced: 0, premium: 0 },
          cost_optimization: { enabled: false, emergency_mode: false, cost_warning: false, optimization_version: 'v1', reason: 'no LLM provider configured' },
        },
      };
    }
    return { status: 200, body: ctx.llm.costAnalytics() };
  });

  registerSpecRoutes(ctx);
  registerFeedbackRoutes(ctx);
  registerJobRoutes(ctx);
  registerDocsRoutes(ctx);
  registerWsRoutes(ctx);
  http.installFallback();
}
