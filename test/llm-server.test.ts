import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DEFAULT_LLM_CONFIG, type Tier } from '../server/llm';
import { startTestServer } from './helpers/server';
import { startStandin, type Behaviour, type StandinCall } from './helpers/llm-standin';

const USAGE = { input: 1200, output: 150 };

/** Polls `cond` every 20 ms for up to `ms`; whether it came true. */
async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
const ANTHROPIC_KEY = 'sk-ant-test-llm-server';
const OPENAI_KEY = 'sk-test-llm-server';

/** The tier a stand-in call was billed at, from the model name in the request. */
function tierOf(provider: 'anthropic' | 'openai', call: StandinCall): Tier {
  const models = DEFAULT_LLM_CONFIG[provider].models;
  const tier = (Object.keys(models) as Tier[]).find((k) => models[k] === call.body.model);
  if (!tier) throw new Error(`unknown model ${call.body.model}`);
  return tier;
}

function billed(provider: 'anthropic' | 'openai', calls: StandinCall[]): number {
  let usd = 0;
  for (const c of calls) {
    // Only answered calls are billed; usage is what the stand-in reported.
    if (c.behaviour.kind !== 'answer' && c.behaviour.kind !== 'outside') continue;
    const p = DEFAULT_LLM_CONFIG.prices[provider][tierOf(provider, c)];
    usd += (USAGE.input * p.inputPerMTok + USAGE.output * p.outputPerMTok) / 1e6;
  }
  return usd;
}

function shortlistOf(body: any): string[] {
  return body?.tools?.[0]?.input_schema?.properties?.predictions?.items?.properties?.id?.enum ?? [];
}

t.test('LLM through POST /predict (Anthropic first, OpenAI fallback)', async (t) => {
  let mode: 'answer' | 'outside' | 'error500' = 'answer';
  let outsideId = '';
  let catalogIds: string[] = [];
  const anthropic = await startStandin({
    protocol: 'anthropic',
    behaviour: (body): Behaviour => {
      if (mode === 'error500') return { kind: 'status', status: 500 };
      if (mode === 'outside') {
        // A real catalog endpoint that the ranker did not shortlist.
        const shortlist = new Set(shortlistOf(body));
        outsideId = catalogIds.find((id) => !shortlist.has(id))!;
        return { kind: 'outside', id: outsideId, usage: USAGE };
      }
      return { kind: 'answer', usage: USAGE };
    },
  });
  const openai = await startStandin({ protocol: 'openai', behaviour: { kind: 'answer', usage: USAGE } });
  const s = await startTestServer(t, {}, {
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: anthropic.url,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: `${openai.url}/v1`,
    OPENSESAME_LLM_DEADLINE_MS: '5000',
  });
  t.teardown(async () => {
    await anthropic.close();
    await openai.close();
  });
  catalogIds = (await s.get('/specs/saas')).json.endpoint_list.map((e: { api_call: string }) => e.api_call);
  const results: any[] = [];

  await t.test('an Anthropic answer is merged with the ranking', async (t) => {
    const r = await s.post('/predict', { prompt: 'change the role of a team member', max_predictions: 3 });
    t.equal(r.status, 200);
    results.push(r.json);
    const md = r.json.metadata;
    t.equal(md.processing_method, 'ml_ranker+llm_rrf');
    t.equal(md.ai_provider, 'anthropic');
    t.equal(r.json.predictions.length, 3);
    const chosen = new Set(anthropic.calls[0]!.shortlist.slice(0, 3));
    const fromLlm = r.json.predictions.filter((p: any) => p.ai_provider === 'anthropic');
    t.ok(fromLlm.length > 0, 'some predictions come from the LLM');
    for (const p of fromLlm) {
      t.ok(chosen.has(p.api_call), `${p.api_call} was chosen by the stand-in`);
      t.equal(p.reasoning, 'stand-in choice', 'reasoning of the LLM');
    }
    const routing = md.cost_aware_routing;
    t.equal(routing.status, 'ok');
    t.equal(routing.provider, 'anthropic');
    t.match(routing.model_tier, /^(fast|balanced|premium)$/);
    t.equal(routing.model_name, DEFAULT_LLM_CONFIG.anthropic.models[routing.model_tier as Tier]);
    t.ok(routing.estimated_cost_usd > 0);
    const price = DEFAULT_LLM_CONFIG.prices.anthropic[routing.model_tier as Tier];
    t.equal(routing.actual_cost_usd, (USAGE.input * price.inputPerMTok + USAGE.output * price.outputPerMTok) / 1e6, 'cost from reported usage');
    t.equal(routing.daily_budget_usd, 100);
    t.equal(typeof md.performance_metrics.llm_latency_ms, 'number');
  });

  await t.test('ids outside the shortlist never reach the predictions', async (t) => {
    mode = 'outside';
    const r = await s.post('/predict', { prompt: 'archive an old project', max_predictions: 3 });
    t.equal(r.status, 200);
    results.push(r.json);
    t.ok(outsideId, 'the stand-in named a catalog endpoint outside the shortlist');
    const calls = r.json.predictions.map((p: any) => p.api_call);
    t.notOk(calls.includes(outsideId), `${outsideId} is not predicted`);
    t.notOk(calls.includes('DELETE /not/in/shortlist'));
    for (const c of calls) t.ok(catalogIds.includes(c), `${c} is in the catalog`);
    t.equal(r.json.metadata.processing_method, 'ml_ranker+llm_rrf', 'the valid part of the answer is used');
  });

  await t.test('Anthropic 500 falls back to OpenAI', async (t) => {
    mode = 'error500';
    const before = anthropic.calls.length;
    const r = await s.post('/predict', { prompt: 'send an invoice to a customer', max_predictions: 3 });
    t.equal(r.status, 200);
    results.push(r.json);
    t.ok(anthropic.calls.length > before, 'Anthropic was asked first');
    t.equal(openai.calls.length, 1);
    t.equal(r.json.metadata.ai_provider, 'openai');
    t.equal(r.json.metadata.cost_aware_routing.provider, 'openai');
    t.equal(r.json.metadata.processing_method, 'ml_ranker+llm_rrf');
    t.ok(r.json.predictions.some((p: any) => p.ai_provider === 'openai'));
  });

  await t.test('GET /cost-analytics matches the usage the stand-ins reported', async (t) => {
    await s.server.ctx.llm!.flush();
    const a = (await s.get('/cost-analytics')).json;
    const expected = billed('anthropic', anthropic.calls) + billed('openai', openai.calls);
    const reported = results.reduce((sum, r) => sum + r.metadata.cost_aware_routing.actual_cost_usd, 0);
    t.ok(expected > 0);
    t.ok(Math.abs(a.cost_analytics.daily_spent_usd - expected) < 1e-8, `spent ${a.cost_analytics.daily_spent_usd} = billed ${expected}`);
    t.ok(Math.abs(reported - expected) < 1e-8, 'responses report the same costs');
    t.equal(a.cost_analytics.predictions_today, 3);
    t.ok(Math.abs(a.cost_analytics.budget_utilization - expected / 100) < 1e-8);
    t.ok(Math.abs(a.cost_analytics.avg_cost_per_prediction - expected / 3) < 1e-8);
    const tiers = results.map((r) => r.metadata.cost_aware_routing.model_tier as Tier);
    for (const tier of ['fast', 'balanced', 'premium'] as const) t.equal(a.model_usage[tier], tiers.filter((x) => x === tier).length, `usage of ${tier}`);
  });
});

t.test('a stand-in that never answers: the ML answer by the deadline', async (t) => {
  const anthropic = await startStandin({ protocol: 'anthropic', behaviour: { kind: 'hang' } });
  const deadline = 300;
  const s = await startTestServer(t, {}, { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropic.url, OPENSESAME_LLM_DEADLINE_MS: String(deadline) });
  t.teardown(() => anthropic.close());
  const r = await s.post('/predict', { prompt: 'create a new user account', max_predictions: 3 });
  t.equal(r.status, 200);
  t.equal(r.json.predictions.length, 3);
  t.equal(r.json.predictions[0].api_call, 'POST /users', 'the ranker answer');
  for (const p of r.json.predictions) t.equal(p.ai_provider, 'ml_ranker');
  t.match(r.json.metadata.processing_method, /^(ml|heuristic)_ranker$/, 'the ranker alone');
  t.equal(r.json.metadata.cost_aware_routing.status, 'deadline');
  // A correctness bound (the deadline is enforced), not a performance assertion.
  t.ok(r.json.processing_time_ms < deadline + 200, `answered in ${r.json.processing_time_ms} ms`);
  // A miss is not cached: the next identical request runs (and asks the LLM) again.
  await new Promise((r) => setTimeout(r, 100));
  const again = await s.post('/predict', { prompt: 'create a new user account', max_predictions: 3 });
  t.equal(again.json.metadata.performance_metrics.cache_hit, false, 'not served from the cache');
  t.equal(again.json.metadata.cost_aware_routing.status, 'deadline');
});

t.test('a client that goes away cancels the LLM call of its request', async (t) => {
  // The first call never answers; later ones do at once.
  const anthropic = await startStandin({ protocol: 'anthropic', behaviour: (_body, n) => (n === 0 ? { kind: 'hang' } : { kind: 'answer', usage: USAGE }) });
  const s = await startTestServer(t, {}, { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropic.url, OPENSESAME_LLM_DEADLINE_MS: '20000' });
  t.teardown(() => anthropic.close());
  const body = JSON.stringify({ prompt: 'create a new user account', max_predictions: 3 });
  const req = http.request(`${s.base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  req.on('error', () => undefined); // the abort below
  req.end(body);
  t.ok(await until(() => anthropic.calls.length === 1), 'the LLM is asked');
  req.destroy();
  // Without the cancellation the call stays open until the 20 s deadline.
  t.ok(await until(() => anthropic.calls[0]!.abandoned), 'the LLM request is closed soon after the client left');
  const r = await s.post('/predict', { prompt: 'create a new user account', max_predictions: 3 });
  t.equal(r.status, 200, 'still serving');
  t.equal(r.json.metadata.performance_metrics.cache_hit, false, 'the cancelled answer was not cached');
  t.equal(r.json.metadata.cost_aware_routing.status, 'ok', 'this one asked the LLM again');
});

t.test('the daily budget persists across a restart on the same data dir', async (t) => {
  const anthropic = await startStandin({ protocol: 'anthropic', behaviour: { kind: 'answer', usage: USAGE } });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-budget-'));
  t.teardown(async () => {
    await anthropic.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const env = { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropic.url, OPENSESAME_DAILY_BUDGET_USD: '0.05', OPENSESAME_LLM_DEADLINE_MS: '5000' };

  const first = await startTestServer(t, {}, env, { keepDataDir: dataDir });
  const r = await first.post('/predict', { prompt: 'list the invoices of this month', max_predictions: 3 });
  t.equal(r.json.metadata.cost_aware_routing.status, 'ok');
  const cost = r.json.metadata.cost_aware_routing.actual_cost_usd;
  // Closed straight after the answer: shutdown itself must not lose the ledger write.
  await first.server.close();

  const second = await startTestServer(t, {}, env, { keepDataDir: dataDir });
  const after = (await second.get('/cost-analytics')).json.cost_analytics;
  t.ok(Math.abs(after.daily_spent_usd - cost) < 1e-9, `spend ${after.daily_spent_usd} survived the restart`);
  t.ok(after.budget_utilization > 0, 'utilisation is not reset');
  t.ok(Math.abs(after.budget_utilization - cost / 0.05) < 1e-6);
  t.equal(after.predictions_today, 1);
  const r2 = await second.post('/predict', { prompt: 'refund the last payment', max_predictions: 3 });
  t.equal(r2.json.metadata.cost_aware_routing.status, 'ok');
  t.ok(Math.abs(r2.json.metadata.cost_aware_routing.budget_utilization - cost / 0.05) < 1e-6, 'routing saw the persisted spend');
  await second.server.ctx.llm!.flush();
  const last = (await second.get('/cost-analytics')).json.cost_analytics;
  t.ok(last.budget_utilization > after.budget_utilization, 'utilisation grows with spend');
});
