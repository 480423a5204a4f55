/**
 * The signals that tie what a prompt names to what an API's records are: people's names,
 * people-like resources, nested records typed by their shape, enum path parameters,
 * response attributes, and the stemmer they all match with.
 */
import t from 'tap';
import { buildCatalog } from '../engine/catalog';
import { FEATURE_NAMES, NUM_FEATURES } from '../engine/features';
import { describesPeople, peopleLists, personGroups } from '../engine/people';
import { countPersonNames, givenNames } from '../engine/person-names';
import { predict } from '../engine/predictor';
import { countedNoun, prepareCatalog } from '../engine/prepared-catalog';
import { buildResourceGraph } from '../engine/resource-graph';
import { baseForm, stem, terms } from '../engine/tokenizer';

const obj = (props: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', properties: props });
const arr = (items: Record<string, unknown>): Record<string, unknown> => ({ type: 'array', items });
const str = { type: 'string' };
const int = { type: 'integer' };
const ok = (schema: Record<string, unknown>): Record<string, unknown> => ({ '200': { description: 'ok', content: { 'application/json': { schema } } } });
const idParam = (name: string): Record<string, unknown> => ({ name, in: 'path', required: true, schema: int });

const BOOK = { id: int, title: str, published_date: str, word_count: int, synopsis: str, cover_url: str };
const AUTHOR = { id: int, name: str, birthday: str, nationality: str, biography: str };

/** A small library API: people (authors), books, a nested list of each, an enum-keyed chart. */
const doc = {
  openapi: '3.0.3',
  info: { title: 'Library', version: '1' },
  paths: {
    '/search/authors': { get: { operationId: 'searchAuthors', summary: 'Search authors', parameters: [{ name: 'query', in: 'query', required: true, schema: str }], responses: ok(obj({ page: int, results: arr(obj({ id: int, name: str })) })) } },
    '/authors/{author_id}': { get: { operationId: 'getAuthor', summary: 'Get an author', parameters: [idParam('author_id')], responses: ok(obj(AUTHOR)) } },
    '/authors/{author_id}/works': {
      get: { operationId: 'getAuthorWorks', summary: 'Works of an author', parameters: [idParam('author_id')], responses: ok(obj({ id: int, written: arr(obj({ ...BOOK, role: str })) })) },
    },
    '/books/{book_id}': { get: { operationId: 'getBook', summary: 'Get a book', parameters: [idParam('book_id')], responses: ok(obj(BOOK)) } },
    '/books/{book_id}/contributors': {
      get: { operationId: 'getBookContributors', summary: 'Contributors of a book', parameters: [idParam('book_id')], responses: ok(obj({ id: int, contributors: arr(obj({ id: int, name: str, nationality: str, birthday: str, role: str })) })) },
    },
    '/charts/{kind}/{window}': {
      get: {
        operationId: 'getChart',
        summary: 'Get a chart',
        parameters: [
          { name: 'kind', in: 'path', required: true, schema: { type: 'string', enum: ['books', 'authors'] } },
          { name: 'window', in: 'path', required: true, schema: { type: 'string', enum: ['day', 'week'] } },
        ],
        responses: ok(obj({ page: int, total_pages: int, total_results: int })),
      },
    },
  },
};

t.test('person names: a known given name followed by a capitalised word', async (t) => {
  t.ok(givenNames().size > 5000, 'the lexicon loads from the @stdlib packages');
  t.equal(countPersonNames('books written by Maria Garcia'), 1);
  t.equal(countPersonNames("What is Francis Scott Fitzgerald's latest book?"), 1, 'three-word name, possessive');
  t.equal(countPersonNames('Maria Garcia wrote what?'), 1, 'at the start of the prompt too');
  t.equal(countPersonNames('compare Maria Garcia and David Kim'), 2);
  t.equal(countPersonNames('books by maria garcia'), 0, 'lower case is not a name');
  t.equal(countPersonNames('the book "Maria Garcia" please'), 0, 'a quoted span is a title');
  t.equal(countPersonNames('the report Q3 Numbers'), 0);
  t.equal(countPersonNames('reviews of The Grace Storm'), 0, 'a determiner makes it a title');
  t.equal(countPersonNames('ask Maria, Garcia knows'), 0, 'punctuation ends a name');
  t.equal(countPersonNames(''), 0);
});

t.test('people in responses: record level and nested lists', async (t) => {
  t.same(personGroups(['id', 'name', 'email']), ['']);
  t.same(personGroups(['results[].name', 'results[].gender', 'page']), ['results[]']);
  t.same(personGroups(['id', 'title', 'cast[].name', 'cast[].gender', 'crew[].name', 'crew[].job']), ['cast[]', 'crew[]']);
  t.ok(describesPeople(['results[].name', 'results[].birthday']));
  t.notOk(describesPeople(['id', 'title', 'cast[].name', 'cast[].gender']), 'a nested list of people does not make the record a person');
  t.equal(peopleLists(['id', 'cast[].name', 'cast[].gender', 'crew[].name', 'crew[].job']), 2);
  t.equal(peopleLists(['id', 'name', 'email']), 0);
  t.notOk(describesPeople(['id', 'name', 'price']), 'a name alone is not a person');
});

t.test('resource graph: people-like resources, shape-typed nested ids, enum path parameters', async (t) => {
  const cat = await buildCatalog(doc);
  const g = buildResourceGraph(cat);
  const at = (id: string) => {
    const i = cat.endpoints.findIndex((e) => e.id === id);
    t.ok(i >= 0, id);
    return g.facts[i]!;
  };
  t.ok(at('GET /search/authors').personish, 'the search shares its resource with a record that describes a person');
  t.ok(at('GET /authors/{author_id}').personish);
  t.notOk(at('GET /books/{book_id}').personish);
  t.ok(at('GET /authors/{author_id}').returnsPeople);
  t.equal(at('GET /books/{book_id}/contributors').peopleLists, 1, 'name + nationality in a nested list is a group of people');
  // "written[]" items have a book's fields: their ids open /books/{book_id}.
  t.ok(at('GET /authors/{author_id}/works').producesIds.includes('book'), 'nested records typed by shape');
  t.ok(at('GET /books/{book_id}/contributors').producesIds.includes('author'), "contributors share an author's fields");
  t.notOk(at('GET /books/{book_id}').producesIds.includes('author'), 'no nested group, nothing added');
  const chart = at('GET /charts/{kind}/{window}');
  t.same(chart.pathParams, [], 'enum parameters are not ids');
  t.same(chart.choiceParams.map((c) => c.name), ['kind', 'window']);
  t.same(chart.choiceParams[1]!.values, ['day', 'week']);
  t.equal(chart.kind, 'list', 'paging fields make it a list');
  t.equal(g.satisfiable(cat.endpoints.findIndex((e) => e.id === 'GET /charts/{kind}/{window}'), new Set()), 1, 'callable with nothing known');
});

t.test('stemmer: plurals in -ies meet their singulars', async (t) => {
  t.equal(stem('movies'), stem('movie'));
  t.equal(stem('categories'), stem('category'));
  t.equal(stem('cookies'), stem('cookie'));
  t.equal(stem('today'), 'today', 'a vowel before the y keeps it');
  t.equal(stem('released'), stem('release'), 'a silent e is dropped');
  t.equal(stem('releasing'), stem('release'));
  t.equal(stem('employee'), 'employee', 'a double e stays');
  t.equal(stem('users'), 'user');
  t.equal(baseForm('categories'), 'category', 'vocabulary fallback stays a real word');
  t.same(terms('the Movies of 2021'), ['movi']);
});

t.test('features: person and attribute columns for real requests', async (t) => {
  const cat = await buildCatalog(doc);
  const pc = await prepareCatalog(cat);
  const col = (name: string) => FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number]);
  const run = (prompt: string, history: string[] = []) => {
    const out = predict(pc, { prompt, history: history.map((api_call) => ({ api_call })), now: 0, candidateLimit: 64 }, (_f, rows) => new Float32Array(rows));
    const row = (id: string) => {
      const r = out.candidates.findIndex((c) => cat.endpoints[c]!.id === id);
      t.ok(r >= 0, `${id} is a candidate`);
      return (name: string) => out.features[r * NUM_FEATURES + col(name)]!;
    };
    return row;
  };
  t.ok(col('field_hit') > 0 && col('prompt_person_names') > 0, 'columns exist');
  const q = run('When was Maria Garcia born and what is her nationality?');
  const search = q('GET /search/authors');
  t.equal(search('prompt_person_names'), 1);
  t.equal(search('candidate_personish'), 1);
  t.equal(q('GET /books/{book_id}')('candidate_personish'), 0);
  t.equal(q('GET /authors/{author_id}')('field_hit'), 1, 'nationality is one of its attributes');
  const who = run('Who contributed to the book "Silent River"?', ['GET /books/123']);
  t.equal(who('GET /books/{book_id}/contributors')('who_question'), 1);
  t.equal(who('GET /books/{book_id}/contributors')('returns_people'), 0);
  const pages = run('how many words does the book "Silent River" have', ['GET /books/123']);
  t.equal(pages('GET /books/{book_id}')('field_hit'), 1, 'word_count answers "how many words"');
  t.equal(pages('GET /books/{book_id}/contributors')('field_hit'), 0);
  t.equal(pages('GET /books/{book_id}')('count_field'), 1, 'a book counts its words');
  t.equal(pages('GET /books/{book_id}/contributors')('count_field'), 0);
  const plain = run('the words of the book "Silent River"', ['GET /books/123']);
  t.equal(plain('GET /books/{book_id}')('count_field'), 0, 'no count asked for');
});

t.test('count fields: what a field counts, and ordinals that are not counts', async (t) => {
  t.same(countedNoun(['number', 'of', 'episodes']), ['episodes']);
  t.same(countedNoun(['follower', 'count']), ['follower']);
  t.same(countedNoun(['total', 'seats']), ['seats']);
  t.same(countedNoun(['num', 'pages']), ['pages']);
  t.same(countedNoun(['count', 'of', 'open', 'tickets']), ['open', 'tickets']);
  t.equal(countedNoun(['episode', 'number']), undefined, 'an ordinal');
  t.equal(countedNoun(['count']), undefined);
  t.equal(countedNoun(['number', 'of']), undefined);
  const pc = await prepareCatalog(await buildCatalog(doc));
  const at = (id: string) => [...pc.countTerms[pc.catalog.endpoints.findIndex((e) => e.id === id)]!];
  t.same(at('GET /books/{book_id}'), [stem('word')]);
  t.same(at('GET /charts/{kind}/{window}'), [], 'paging totals count pages and results, not attributes');
});
