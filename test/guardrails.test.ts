import t from 'tap';
import fc from 'fast-check';
import {
  RULE_REASONS,
  canonicalView,
  checkHistoryEntry,
  createInputGuard,
  isSensitiveEndpoint,
  luhnValid,
  profanityScore,
  sanitizeDescription,
  sanitizeParameterValue,
  validatePredictionShape,
  type GuardVerdict,
  type RuleName,
} from '../server/guardrails';
import { measurePrecision } from './fixtures/guardrails/measure';
import { ATTACK_KINDS, generateAttacks, generatePiiSamples } from './fixtures/guardrails/generate-attacks';
import { loadRestBench, loadSpecPrompts } from './fixtures/guardrails/corpus';

const guard = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0.5 });
const FIXED_REASONS = new Set(Object.values(RULE_REASONS));

function ruleOf(v: GuardVerdict): RuleName | 'ok' {
  return v.ok ? 'ok' : v.rule;
}

t.test('normal API-usage prompts pass', async (t) => {
  const prompts = [
    'delete the user account',
    'select the best plan and update the order',
    'drop me the list of invoices',
    'get /users/{id}/orders',
    'search movies by title: The Dark Knight',
    'find products under $20 & sort by price',
    "what's the email endpoint for sending mail?",
    'call id 12345',
    'list invoices created between 2024-01-01 and 2024-03-31',
    'refund $1,299.99 on order ORD-2024-001234',
    'order number 100045678 has not arrived',
    'get session 550e8400-e29b-41d4-a716-446655440000',
    'block traffic from 192.168.100.200 and 10.0.0.1',
    'upgrade the SDK from 1.2.3 to v2.0.0-rc.1',
    'meeting on 03/15/2024 at 10:30 for 45 minutes',
    'ISBN 978-3-16-148410-0 in the catalogue',
    'year 1999 movies with rating 7.5 or more',
    'GET /search?q=dark+knight&page=2&id=5',
    'fetch /files/report.v2.pdf',
    "Who is the director of Leonardo DiCaprio's latest movie?",
    'name the Python & Ruby SDKs',
    'show Bash & PowerShell examples for the upload',
    'use the `id` field of the response',
    'fields:\nid\nname\nemail',
    'regular expression (regex) support in search',
    'create a price alert (daily) for AAPL',
    'wait... /users is slow',
  ];
  for (const p of prompts) t.same(guard.check(p), { ok: true }, p);
});

t.test('attacks are refused with the rule of their kind', async (t) => {
  const cases: Array<[string, RuleName]> = [
    ['SELECT * FROM users WHERE id = 1 OR 1=1', 'sql_injection'],
    ["admin'--", 'sql_injection'],
    ["' UNION SELECT username, password FROM users--", 'sql_injection'],
    ["1'; DROP TABLE users--", 'sql_injection'],
    ['1 AND SLEEP(5)', 'sql_injection'],
    ['get user data <script>alert("xss")</script>', 'xss'],
    ['<img src=x onerror=alert(1)>', 'xss'],
    ['<a href="javascript:alert(1)">x</a>', 'xss'],
    ['" onmouseover="alert(1)', 'xss'],
    ['../../../etc/passwd', 'path_traversal'],
    ['..\\..\\windows\\win.ini', 'path_traversal'],
    ['file:///etc/shadow', 'path_traversal'],
    ['; cat /etc/passwd', 'command_injection'],
    ['| whoami', 'command_injection'],
    ['$(id)', 'command_injection'],
    ['127.0.0.1 && ping -c 10 evil.example', 'command_injection'],
  ];
  for (const [text, rule] of cases) t.equal(ruleOf(guard.check(text)), rule, text);
});

t.test('detection sees through encodings and obfuscation', async (t) => {
  const cases: Array<[string, RuleName, string]> = [
    ['%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'xss', 'URL-encoding'],
    ['%253Cscript%253Ealert(1)%253C%252Fscript%253E', 'xss', 'double URL-encoding'],
    ['&lt;script&gt;alert(1)&lt;/script&gt;', 'xss', 'named HTML entities'],
    ['&#60;img src=x onerror=alert(1)&#62;', 'xss', 'decimal entities'],
    ['&#x3c;svg onload=alert(1)&#x3e;', 'xss', 'hex entities'],
    ['\\u003cscript\\u003ealert(1)\\u003c/script\\u003e', 'xss', 'unicode escapes'],
    ['＜ｓｃｒｉｐｔ＞alert(1)＜／ｓｃｒｉｐｔ＞', 'xss', 'fullwidth (NFKC)'],
    ['<ѕсrірt>alert(1)</ѕсrірt>', 'xss', 'Cyrillic homoglyphs'],
    ['<a href="jav&#x09;ascript:alert(1)">x</a>', 'xss', 'tab inside the scheme'],
    ['UN/**/ION SE/**/LECT password FROM users', 'sql_injection', 'comments inside keywords'],
    ['1/**/UNION/**/SELECT/**/1,2', 'sql_injection', 'comments for spaces'],
    ['/*!50000UNION*/ /*!50000SELECT*/ 1,2', 'sql_injection', 'MySQL versioned comments'],
    ["' oR '1'='1", 'sql_injection', 'case games'],
    ["'\tOR\n1=1--", 'sql_injection', 'tabs and newlines'],
    ['UN%00ION SEL%00ECT 1', 'sql_injection', 'null bytes'],
    ["1'+or+'1'='1", 'sql_injection', 'form encoding'],
    ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'path_traversal', '%2e%2e'],
    ['..%c0%af..%c0%afetc%c0%afpasswd', 'path_traversal', 'overlong UTF-8 slash'],
    ['%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', 'path_traversal', 'overlong UTF-8 dots'],
    ['%252e%252e%252fetc%252fpasswd', 'path_traversal', 'double-encoded dots'],
    ['..\\..\\..\\boot.ini', 'path_traversal', 'backslash paths'],
    ['．．／．．／etc／passwd', 'path_traversal', 'fullwidth dots and slashes'],
    ['../../etc/passwd%00.png', 'path_traversal', 'null byte suffix'],
    ["| w'h'o'am'i", 'command_injection', 'quote splitting'],
    ['; cat${IFS}/etc/passwd', 'command_injection', '${IFS}'],
    ['%0awhoami', 'command_injection', 'encoded newline separator'],
    ['&& w^h^o^a^m^i', 'command_injection', 'caret splitting'],
  ];
  for (const [text, rule, what] of cases) t.equal(ruleOf(guard.check(text)), rule, what);
});

t.test('reasons are fixed per rule and never echo the input', async (t) => {
  const samples = [
    ...ATTACK_KINDS.flatMap((k) => generateAttacks(k).slice(0, 60).map((s) => s.text)),
    ...generatePiiSamples().map((s) => s.text),
    'what the fuck is this api',
  ];
  let refused = 0;
  for (const text of samples) {
    const v = guard.check(text);
    if (v.ok) continue;
    refused++;
    t.equal(v.reason, RULE_REASONS[v.rule]);
  }
  t.ok(refused > 250, `refused ${refused} samples`);
  const v = guard.check('update my email to john.doe@example.com');
  t.equal(ruleOf(v), 'pii_email');
  t.notMatch(JSON.stringify(v), /john|example/);
});

t.test('options: disabled guard, PII off, threshold validation', async (t) => {
  const off = createInputGuard({ enabled: false, piiDetection: true, profanityThreshold: 0.5 });
  t.same(off.check("' OR 1=1--"), { ok: true });
  t.same(off.checkHistoryEntry('/files/../../etc/passwd'), { ok: true });
  const noPii = createInputGuard({ enabled: true, piiDetection: false, profanityThreshold: 0.5 });
  t.same(noPii.check('mail john.doe@example.com or call 555-123-4567'), { ok: true });
  t.equal(ruleOf(noPii.check('<script>alert(1)</script>')), 'xss');
  t.throws(() => createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: -1 }), RangeError);
  t.throws(() => createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: NaN }), RangeError);
  const dflt = createInputGuard({ enabled: true, piiDetection: true });
  t.equal(ruleOf(dflt.check('this shit is broken')), 'profanity', 'default threshold 0.5');
});

t.test('history entries: attack rules on api_call and params', async (t) => {
  const ok: Array<[string, Record<string, unknown>?]> = [
    ['GET /users/{id}'],
    ['/users/123'],
    ['PUT /users/{userId}/orders/{orderId}', { userId: '42', orderId: 7 }],
    ['GET /files/report.v2.pdf'],
    ['/search/movie?query=The%20Dark%20Knight&page=1&include_adult=false'],
    ['GET /search?q=dark+knight&cat=books&id=5'],
    ['POST /users', { email: 'ana@example.com', phone: '555-123-4567', note: 'call after 5pm; ask for Ana' }],
    ['GET /v2/items/{item_id}', { filter: 'price>10&price<20', nested: { tags: ['a', 'b'] } }],
    ['DELETE /repos/{owner}/{repo}/git/refs/heads/feature/x'],
  ];
  for (const [call, params] of ok) t.same(checkHistoryEntry(call, params), { ok: true }, call);

  const bad: Array<[string, Record<string, unknown> | undefined, RuleName]> = [
    ['GET /files/../../etc/passwd', undefined, 'path_traversal'],
    ['GET /files/%2e%2e%2f%2e%2e%2fetc%2fpasswd', undefined, 'path_traversal'],
    ["GET /users/1' OR '1'='1", undefined, 'sql_injection'],
    ['GET /users/{id}', { id: '1 UNION SELECT password FROM users' }, 'sql_injection'],
    ['GET /users/{id}', { name: '<script>alert(1)</script>' }, 'xss'],
    ['POST /ping', { host: '127.0.0.1; cat /etc/passwd' }, 'command_injection'],
    ['POST /items', { meta: { deep: ['ok', '$(whoami)'] } }, 'command_injection'],
    ['POST /items', { '<img src=x onerror=alert(1)>': 1 }, 'xss'],
  ];
  for (const [call, params, rule] of bad) t.equal(ruleOf(checkHistoryEntry(call, params)), rule, `${call} ${JSON.stringify(params)}`);
  t.equal(ruleOf(guard.checkHistoryEntry('GET /a/../../b')), 'path_traversal', 'guard method');
});

t.test('PII detection', async (t) => {
  const samples = generatePiiSamples();
  t.ok(samples.length >= 60, `${samples.length} PII samples`);
  for (const s of samples) t.equal(ruleOf(guard.check(s.text)), s.rule, s.text);

  const nearMisses = [
    'pay with 4111 1111 1111 1112',
    'SSN-like part 900-12-3456',
    'id 000-12-3456',
    'order 4111111111111111 was shipped',
    'order 5551234567',
    'ORD-555-123-4567',
    'year 2024 and 2025',
    'ip 192.168.100.200',
    'version 10.2.3',
    'tracking 1Z999AA10123456784',
    'invoice INV-2023-0042 total 1,234.56',
    'dates 2024-03-15 and 15.03.2024',
    'page 2 of 340 results, 25 per page',
    'the users@ mention and @acme handle',
  ];
  for (const text of nearMisses) t.same(guard.check(text), { ok: true }, text);
  t.ok(luhnValid('4111111111111111'));
  t.notOk(luhnValid('4111111111111112'));
});

t.test('profanity scoring', async (t) => {
  t.equal(profanityScore(canonicalView('list my invoices')), 0);
  t.equal(profanityScore(canonicalView('damn, the export failed again, can you retry it?')), 0.25);
  t.equal(profanityScore(canonicalView('damn this bloody api')), 1 - 0.75 * 0.75);
  t.ok(profanityScore(canonicalView('damn this bloody crap api')) >= 0.5, 'three mild words reach 0.5');
  t.equal(profanityScore(canonicalView('fuck')), 1);
  for (const s of ['sh1t', '$hit', 'f*ck this', 'fuuuuck', 'f u c k', 'f.u.c.k', 'a$$hole', 'bullshit', 'motherfucker', 'ＦＵＣＫ']) {
    t.ok(profanityScore(canonicalView(s)) >= 0.5, s);
  }
  for (const s of ['Scunthorpe', 'cocktail', 'assessment', 'class', 'Dickens', 'Titanic', 'shiitake', 'hello', 'Sussex', 'passion', 'retardant', 'analysis', 'Hancock', 'therapist']) {
    t.equal(profanityScore(canonicalView(s)), 0, s);
  }
  t.same(guard.check('damn, the sync failed'), { ok: true }, 'one mild word passes at 0.5');
  t.equal(ruleOf(guard.check('this shit is slow')), 'profanity');
  const strict = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0.2 });
  t.equal(ruleOf(strict.check('damn, the sync failed')), 'profanity');
  const lenient = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0.9 });
  t.same(lenient.check('this shit is slow'), { ok: true });
  const off = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 1.5 });
  t.same(off.check('fuck'), { ok: true });
  const zero = createInputGuard({ enabled: true, piiDetection: true, profanityThreshold: 0 });
  t.same(zero.check('list my invoices'), { ok: true }, 'score 0 never refuses');
});

t.test('corpus targets: benign < 1 %, RestBench 100 %, attacks >= 95 % per kind', async (t) => {
  t.equal(loadRestBench().length, 100, 'RestBench TMDB queries are present');
  t.ok(loadSpecPrompts().length > 0, 'bundled spec summaries were found');
  const r = measurePrecision();
  t.ok(r.benign.bySource.handwritten.total >= 200, `${r.benign.bySource.handwritten.total} hand-written prompts`);
  t.equal(r.benign.bySource.restbench.refused, 0, 'every RestBench query is allowed');
  t.ok(r.benign.overall.refusedRate < 0.01, `benign refused ${(r.benign.overall.refusedRate * 100).toFixed(2)} % of ${r.benign.overall.total}: ` +
    JSON.stringify(r.benign.overall.refusals.slice(0, 5)));
  for (const kind of ATTACK_KINDS) {
    const m = r.malicious[kind];
    t.ok(m.total >= 200, `${kind}: ${m.total} samples`);
    t.ok(m.blockedRate >= 0.95, `${kind}: blocked ${(m.blockedRate * 100).toFixed(1)} %`);
    t.ok(r.holdout[kind].blockedRate >= 0.9, `${kind} held-out: blocked ${(r.holdout[kind].blockedRate * 100).toFixed(1)} %`);
  }
  t.equal(r.pii.rightRule, r.pii.total, 'every PII sample detected with its rule');
});

t.test('sanitizeParameterValue', async (t) => {
  t.equal(sanitizeParameterValue('123'), '123');
  t.equal(sanitizeParameterValue(42), 42);
  t.equal(sanitizeParameterValue(false), false);
  t.equal(sanitizeParameterValue(null), null);
  t.equal(sanitizeParameterValue(undefined), null);
  t.equal(sanitizeParameterValue(NaN), null);
  t.equal(sanitizeParameterValue(Infinity), null);
  t.equal(sanitizeParameterValue(() => 1), null);
  t.equal(sanitizeParameterValue(Symbol('x')), null);
  t.equal(sanitizeParameterValue(10n), '10');
  t.equal(sanitizeParameterValue('<b>Ana</b><script>alert(1)</script>'), 'Ana');
  t.equal(sanitizeParameterValue('a\u0000b\u0007c\u202ed\r\ne'), 'abcd e');
  t.equal(sanitizeParameterValue('javascript:alert(1)'), 'alert(1)');
  t.equal(sanitizeParameterValue({ a: 1 }), '{"a":1}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.equal(sanitizeParameterValue(cyclic), null);
  const long = sanitizeParameterValue('x'.repeat(1000));
  t.equal(typeof long === 'string' && long.length, 256);
  const emoji = sanitizeParameterValue('😀'.repeat(300)) as string;
  t.equal(Array.from(emoji).length, 256, 'counts code points, no split surrogates');
  t.notMatch(emoji, /[\ud800-\udbff]$/);
});

t.test('sanitizeDescription', async (t) => {
  t.equal(sanitizeDescription('<p>Returns the <b>user</b>&nbsp;profile.</p>'), 'Returns the user profile.');
  t.equal(sanitizeDescription('Tom &amp; Jerry &lt;3 &#x41;PI'), 'Tom & Jerry <3 API');
  t.equal(sanitizeDescription('ok &lt;script&gt;alert(1)&lt;/script&gt; done'), 'ok done', 'markup revealed by decoding is stripped');
  t.equal(sanitizeDescription('a<script>evil()</script>b<style>x{}</style>c<!-- hidden -->d'), 'a b c d');
  t.equal(sanitizeDescription('price < 20 and > 10'), 'price < 20 and > 10');
  t.equal(sanitizeDescription('line one\n\n\tline   two'), 'line one line two');
  t.equal(sanitizeDescription('cut <img src=x onerror=alert(1)'), 'cut');
  const long = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
  const out = sanitizeDescription(long, 50);
  t.ok(Array.from(out).length <= 50, `length ${out.length}`);
  t.ok(out.endsWith('…'));
  t.match(out, /^The quick brown fox jumps over the lazy dog\. The…$/);
  t.equal(sanitizeDescription('short', 300), 'short');
  t.equal(sanitizeDescription('', 10), '');
  t.equal(sanitizeDescription('abcdefghijklmnopqrstuvwxyz', 10), 'abcdefghi…', 'no space: hard cut');
});

t.test('isSensitiveEndpoint', async (t) => {
  const cases: Array<[string, string[], ReturnType<typeof isSensitiveEndpoint>]> = [
    ['/admin/users', [], { sensitive: true, kind: 'admin' }],
    ['/api/v1/admin-settings', [], { sensitive: true, kind: 'admin' }],
    ['/_internal/cache/flush', [], { sensitive: true, kind: 'internal' }],
    ['/actuator/health', [], { sensitive: true, kind: 'internal' }],
    ['/debug/pprof/heap', [], { sensitive: true, kind: 'debug' }],
    ['/__debug__/toolbar', [], { sensitive: true, kind: 'debug' }],
    ['/metrics', [], { sensitive: true, kind: 'internal' }],
    ['/api/v2/metrics', [], { sensitive: true, kind: 'internal' }],
    ['/audit-log', ['admin'], { sensitive: true, kind: 'admin' }],
    ['/campaigns/{id}/metrics', ['marketing'], { sensitive: false }],
    ['/users/{adminId}', [], { sensitive: false }],
    ['/users/{id}', ['users'], { sensitive: false }],
    ['/system/status', [], { sensitive: true, kind: 'internal' }],
    ['/metrics.json', [], { sensitive: true, kind: 'internal' }],
    ['/solar-system/planets', [], { sensitive: false }],
    ['/system-status', [], { sensitive: false }],
    ['/badminton/courts', [], { sensitive: false }],
  ];
  for (const [path, tags, want] of cases) t.same(isSensitiveEndpoint(path, tags), want, path);
});

t.test('validatePredictionShape', async (t) => {
  const good = {
    api_call: 'PUT /users/{id}',
    method: 'PUT',
    description: 'Update a user',
    parameters: { id: '123', dryRun: false, limit: 5, note: null },
    confidence: 0.82,
    ml_ranking_score: 1.37,
    rank: 1,
    ai_provider: 'ml',
    semantic_similarity: 0.61,
    safety_validated: true,
    cold_start_prediction: false,
  };
  t.same(validatePredictionShape(good), []);
  t.same(validatePredictionShape({ ...good, reasoning: 'follows GET /users/{id}', sensitive: 'admin' }), []);
  t.match(validatePredictionShape({ ...good, sensitive: 'secret' }), [/sensitive must be/]);
  t.same(validatePredictionShape(null), ['prediction must be an object']);
  const broken = validatePredictionShape({
    ...good,
    api_call: 'put users',
    method: 'FETCH',
    parameters: { id: { nested: 1 } },
    confidence: 1.5,
    rank: 0,
    ai_provider: '',
    safety_validated: 'yes',
    reasoning: 5,
    extra: 1,
  });
  t.equal(broken.length, 9, broken.join('; '));
  t.match(validatePredictionShape({ ...good, method: 'GET' }), [/method must equal/]);
  t.same(validatePredictionShape({ ...good, extra: 1 }, { allowExtraFields: true }), []);
});

t.test('properties: no input throws, outputs stay within their contracts', async (t) => {
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }));
  fc.assert(
    fc.property(text, (s) => {
      const v = guard.check(s);
      if (!v.ok && !FIXED_REASONS.has(v.reason)) return false;
      const h = checkHistoryEntry(s, { p: s });
      if (!h.ok && !FIXED_REASONS.has(h.reason)) return false;
      const d = sanitizeDescription(s, 40);
      if (Array.from(d).length > 40 || /<\s*[a-z!?\/][^<>]*>/i.test(d)) return false;
      const p = sanitizeParameterValue(s);
      return typeof p === 'string' && Array.from(p).length <= 256 && !/[\u0000-\u001f\u007f]/.test(p);
    }),
    { numRuns: 400, seed: 20240517 },
  );
  fc.assert(
    fc.property(fc.anything(), (x) => Array.isArray(validatePredictionShape(x)) && sanitizeParameterValue(x) !== undefined),
    { numRuns: 200, seed: 7 },
  );
  t.pass('properties held');
});
