import t from 'tap';
import fc from 'fast-check';
import { buildCatalog } from '../engine/catalog';
import { buildResourceGraph, resourceName, sameResource, singularize, type ResourceGraph } from '../engine/resource-graph';
import type { Catalog } from '../engine/types';

/** A small API exercising the naming conventions real specs mix. */
function op(summary: string, operationId: string, response?: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const responses = response
    ? { '200': { description: 'ok', content: { 'application/json': { schema: response } } } }
    : { '204': { description: 'done' } };
  return { summary, operationId, responses, ...extra };
}
const obj = (props: Record<string, unknown>): Record<string, unknown> => ({ type: 'object', properties: props });
const arr = (items: Record<string, unknown>): Record<string, unknown> => ({ type: 'array', items });
const str = { type: 'string' };
const int = { type: 'integer' };
const pathParam = (name: string, type = 'string'): Record<string, unknown> => ({ name, in: 'path', required: true, schema: { type } });

const doc = {
  openapi: '3.0.3',
  info: { title: 'Graph Fixture', version: '1' },
  paths: {
    '/auth/login': { post: op('Log in', 'login', obj({ token: str, user: obj({ id: str }) })) },
    '/users': {
      get: op('List users', 'listUsers', obj({ data: arr(obj({ id: str, name: str, team_id: str })) })),
      post: op('Create a user', 'createUser', obj({ id: str, name: str })),
    },
    '/users/{userId}': {
      parameters: [pathParam('userId')],
      get: op('Get a user', 'getUser', obj({ id: str, name: str, email: str, team_id: str })),
      patch: op('Update a user', 'updateUser', obj({ id: str })),
      delete: op('Delete a user', 'deleteUser'),
    },
    '/users/{user_id}/order-items': {
      parameters: [pathParam('user_id')],
      get: op("List a user's order items", 'listOrderItems', obj({ items: arr(obj({ id: int, product_id: int })) })),
    },
    '/teams/{id}': { parameters: [pathParam('id')], get: op('Get a team', 'getTeam', obj({ id: str, name: str })) },
    '/teams/{id}/members': {
      parameters: [pathParam('id')],
      get: op('List team members', 'listTeamMembers', arr(obj({ user_id: str, role: str }))),
    },
    '/search/books': {
      get: op('Search books', 'searchBooks', obj({ page: int, results: arr(obj({ id: int, title: str })) }), {
        parameters: [{ name: 'query', in: 'query', required: true, schema: str }],
      }),
    },
    '/books/popular': { get: op('Get popular books', 'getPopularBooks', obj({ page: int, results: arr(obj({ id: int, title: str })) })) },
    '/books/{book_id}': { parameters: [pathParam('book_id', 'integer')], get: op('Get book details', 'getBook', obj({ id: int, title: str, publisher_id: int })) },
    '/books/{book_id}/credits': {
      parameters: [pathParam('book_id', 'integer')],
      get: op('Get the contributors of a book', 'getBookCredits', obj({ id: int, contributors: arr(obj({ id: int, name: str })) })),
    },
    '/people/{person_id}': { parameters: [pathParam('person_id', 'integer')], get: op('Get a person', 'getPerson', obj({ id: int, name: str })) },
    '/publishers/{publisherId}/addresses': { parameters: [pathParam('publisherId')], get: op('List addresses', 'listAddresses', obj({ data: arr(obj({ id: str })) })) },
    '/categories': { get: op('List categories', 'listCategories', obj({ data: arr(obj({ slug: str, name: str })) })) },
    '/categories/{slug}': { parameters: [pathParam('slug')], get: op('Get a category', 'getCategory', obj({ slug: str, name: str })) },
    '/statuses': { get: op('List statuses', 'listStatuses') },
    '/orders/{orderId}/cancel': { parameters: [pathParam('orderId')], post: op('Cancel an order', 'cancelOrder', obj({ id: str, status: str })) },
    '/orders/{orderId}/refunds': { parameters: [pathParam('orderId')], post: op('Refund an order', 'refundOrder', obj({ id: str })) },
    '/v1/#Action=DescribeWidgets': { post: op('Describe widgets', 'DescribeWidgets', obj({ Widgets: arr(obj({ WidgetId: str })) })) },
  },
};

let catalog: Catalog;
let g: ResourceGraph;
const idx = (id: string): number => {
  const e = catalog.endpoints.find((x) => x.id === id);
  if (!e) throw new Error(`no endpoint ${id}`);
  return e.index;
};
const facts = (id: string) => g.facts[idx(id)]!;

t.before(async () => {
  catalog = await buildCatalog(doc);
  g = buildResourceGraph(catalog);
});

t.test('singular forms are generic English', async (t) => {
  const cases: Record<string, string> = {
    users: 'user', categories: 'category', addresses: 'address', people: 'person', statuses: 'status',
    boxes: 'box', cookies: 'cookie', analyses: 'analysis', series: 'series', status: 'status', news: 'news',
    companies: 'company', leaves: 'leaf', branches: 'branch', buses: 'bus', data: 'data', user: 'user',
  };
  for (const [plural, single] of Object.entries(cases)) t.equal(singularize(plural), single, plural);
  t.equal(resourceName('movie_credits'), 'movie_credit');
  t.equal(resourceName('OrderItems'), 'order_item');
  t.equal(resourceName('order-items'), 'order_item');
  t.equal(resourceName('API-Keys'), 'api_key');
});

t.test('facts per endpoint: kind, resource, parents, params', async (t) => {
  t.equal(g.facts.length, catalog.endpoints.length, 'one facts entry per endpoint');
  const expectKinds: Record<string, string> = {
    'POST /auth/login': 'auth',
    'GET /users': 'list',
    'POST /users': 'create',
    'GET /users/{userId}': 'read',
    'PATCH /users/{userId}': 'update',
    'DELETE /users/{userId}': 'delete',
    'GET /users/{user_id}/order-items': 'list',
    'GET /teams/{id}/members': 'list',
    'GET /search/books': 'search',
    'GET /books/popular': 'list',
    'GET /books/{book_id}/credits': 'read',
    'GET /categories/{slug}': 'read',
    'POST /orders/{orderId}/cancel': 'action',
    'POST /orders/{orderId}/refunds': 'create',
    'POST /v1/#Action=DescribeWidgets': 'read',
  };
  for (const [id, kind] of Object.entries(expectKinds)) t.equal(facts(id).kind, kind, `${id} is ${kind}`);

  t.equal(facts('GET /users/{user_id}/order-items').resource, 'order_item');
  t.same(facts('GET /users/{user_id}/order-items').resourceTokens, ['order', 'item']);
  t.same(facts('GET /users/{user_id}/order-items').parents, ['user']);
  t.equal(facts('GET /search/books').resource, 'book');
  t.equal(facts('GET /books/popular').resource, 'book');
  t.equal(facts('GET /books/popular').qualifier, 'popular');
  t.equal(facts('GET /books/{book_id}/credits').resource, 'credit');
  t.same(facts('GET /books/{book_id}/credits').parents, ['book']);
  t.equal(facts('GET /people/{person_id}').resource, 'person');
  t.equal(facts('GET /publishers/{publisherId}/addresses').resource, 'address');
  t.equal(facts('GET /statuses').resource, 'status');
  t.equal(facts('GET /statuses').kind, 'list', 'plural collection without a schema is a list');
  t.equal(facts('POST /orders/{orderId}/cancel').resource, 'order');
  t.equal(facts('POST /orders/{orderId}/cancel').actionVerb, 'cancel');
  t.equal(facts('GET /search/books').actionVerb, 'search');
  t.equal(facts('POST /users').actionVerb, 'create');
  t.equal(facts('POST /v1/#Action=DescribeWidgets').resource, 'widget');
  t.equal(facts('GET /users/{user_id}/order-items').depth, 3);
  t.equal(facts('POST /v1/#Action=DescribeWidgets').depth, 1, 'version prefix not counted');
});

t.test('path parameters map to the resources they identify', async (t) => {
  t.same(facts('GET /users/{userId}').pathParams, ['userId']);
  t.same(facts('GET /users/{userId}').paramResources, ['user'], '{userId} -> user');
  t.same(facts('GET /users/{user_id}/order-items').paramResources, ['user'], '{user_id} -> user');
  t.same(facts('GET /teams/{id}').paramResources, ['team'], '{id} -> preceding segment');
  t.same(facts('GET /categories/{slug}').paramResources, ['category'], '{slug} -> preceding segment');
  t.same(facts('GET /books/{book_id}/credits').paramResources, ['book']);
  t.same(facts('GET /people/{person_id}').paramResources, ['person']);
});

t.test('response ids say which resources an endpoint produces', async (t) => {
  t.ok(facts('GET /users').producesIds.includes('user'), 'data[].id of a user list');
  t.ok(facts('GET /users').producesIds.includes('team'), 'data[].team_id');
  t.ok(facts('POST /users').producesIds.includes('user'), 'create returns the new id');
  t.ok(facts('GET /search/books').producesIds.includes('book'), 'results[].id of a search');
  t.ok(facts('GET /books/{book_id}/credits').producesIds.includes('contributor'), 'nested contributors[].id');
  t.ok(facts('GET /books/{book_id}').producesIds.includes('publisher'), 'publisher_id');
  t.ok(facts('GET /teams/{id}/members').producesIds.includes('user'), '[].user_id');
  t.ok(facts('GET /users/{user_id}/order-items').producesIds.includes('product'), 'items[].product_id');
  t.ok(facts('GET /categories').producesIds.includes('category'), 'data[].slug is the key {slug} uses');
  t.ok(facts('POST /v1/#Action=DescribeWidgets').producesIds.includes('widget'), 'Widgets[].WidgetId');
  t.same(facts('DELETE /users/{userId}').producesIds, []);
});

t.test('producers, consumers and satisfiable', async (t) => {
  const producers = g.producersOf('user');
  t.ok(producers.includes(idx('GET /users')));
  t.ok(producers.includes(idx('GET /teams/{id}/members')));
  t.notOk(producers.includes(idx('DELETE /users/{userId}')));
  const consumers = g.consumersOf('user');
  t.same(
    consumers.map((i) => catalog.endpoints[i]!.id).sort(),
    ['DELETE /users/{userId}', 'GET /users/{userId}', 'GET /users/{user_id}/order-items', 'PATCH /users/{userId}'],
  );
  t.same(g.consumersOf('nothing_like_this'), []);
  t.equal(g.satisfiable(idx('GET /users'), new Set()), 1, 'no params: always satisfiable');
  t.equal(g.satisfiable(idx('GET /users/{userId}'), new Set()), 0);
  t.equal(g.satisfiable(idx('GET /users/{userId}'), new Set(['user'])), 1);
  t.equal(g.satisfiable(idx('GET /users/{userId}'), new Set(['team'])), 0);
  t.equal(g.satisfiable(-5, new Set()), 1, 'unknown index has no params');
});

t.test('distance follows id production and path extension', async (t) => {
  const d = (a: string, b: string): number => g.distance(idx(a), idx(b));
  t.equal(d('GET /users', 'GET /users'), 0);
  t.equal(d('GET /users', 'GET /users/{userId}'), 1, 'list -> item');
  t.equal(d('GET /users', 'GET /users/{user_id}/order-items'), 1, 'user ids feed the sub-collection');
  t.equal(d('GET /users/{userId}', 'PATCH /users/{userId}'), 1, 'read -> update of the same path');
  t.equal(d('GET /search/books', 'GET /books/{book_id}/credits'), 1, 'search -> sub-resource of a result');
  t.equal(d('GET /users', 'GET /teams/{id}'), 1, 'team_id in the user list');
  t.equal(d('GET /users', 'GET /teams/{id}/members'), 1);
  t.equal(d('GET /search/books', 'GET /publishers/{publisherId}/addresses'), 2, 'book -> publisher_id -> publisher addresses');
  t.equal(d('DELETE /users/{userId}', 'GET /users'), Infinity, 'nothing follows a delete');
  t.equal(d('GET /statuses', 'GET /users/{userId}'), Infinity);
  t.equal(g.distance(0, 10_000), Infinity, 'out of range');
  t.ok(g.successors(idx('GET /users')).includes(idx('GET /users/{userId}')));
  t.same(g.successors(idx('DELETE /users/{userId}')), []);
  // Every finite distance is realised by a successor one hop closer, and within the cap.
  const bad: string[] = [];
  let finite = 0;
  for (let a = 0; a < catalog.endpoints.length; a++) {
    for (let b = 0; b < catalog.endpoints.length; b++) {
      const dist = g.distance(a, b);
      if (dist === Infinity || dist === 0) continue;
      finite++;
      if (dist > 6 || !g.successors(a).some((s) => g.distance(s, b) === dist - 1)) bad.push(`${a}->${b}=${dist}`);
    }
  }
  t.ok(finite > 20, `many reachable pairs (${finite})`);
  t.same(bad, [], 'all distances consistent with successors');
});

t.test('builds real bundled specs without faults', async (t) => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { parseSpecText } = await import('../engine/catalog');
  const dir = path.join(__dirname, '..', 'specs');
  const files = fs.readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f));
  t.ok(files.length > 0, 'bundled specs exist');
  for (const f of files) {
    const c = await buildCatalog(parseSpecText(fs.readFileSync(path.join(dir, f), 'utf8')));
    const graph = buildResourceGraph(c);
    t.equal(graph.facts.length, c.endpoints.length, f);
    const lists = graph.facts.filter((x) => x.kind === 'list').length;
    t.ok(lists > 0, `${f} has list endpoints`);
    const withParams = graph.facts.filter((x) => x.pathParams.length > 0);
    t.ok(withParams.every((x) => x.paramResources.length === x.pathParams.length && x.paramResources.every(Boolean)), `${f}: every param has a resource`);
    const linked = withParams.filter((x) => graph.producersOf(x.paramResources[0]!).length > 0).length;
    t.ok(linked / Math.max(1, withParams.length) > 0.6, `${f}: most param resources have producers (${linked}/${withParams.length})`);
  }
});

t.test('sameResource: equal, or one is the other qualified with "_"', (t) => {
  t.ok(sameResource('key', 'api_key'));
  t.ok(sameResource('api_key', 'key'));
  t.ok(sameResource('user', 'user'));
  t.notOk(sameResource('monkey', 'key'));
  t.notOk(sameResource('_key', 'api_key'));
  // The definition it is computed without string building.
  const word = fc.stringMatching(/^[a-c_]{0,5}$/);
  fc.assert(fc.property(word, word, (a, b) => sameResource(a, b) === (a === b || a.endsWith(`_${b}`) || b.endsWith(`_${a}`))), { numRuns: 2000 });
  t.end();
});

t.test('knownFlags and satisfiableFlags agree with the string-set forms', async (t) => {
  // Names related only by qualification ("key" ~ "api_key", "item" ~ "order_item").
  const qualified = await buildCatalog({
    openapi: '3.0.3',
    info: { title: 'Qualified names', version: '1' },
    paths: {
      '/keys': { get: op('List keys', 'listKeys', obj({ data: arr(obj({ key_id: str })) })) },
      '/api-keys/{keyId}': { parameters: [pathParam('keyId')], get: op('Get an API key', 'getApiKey', obj({ id: str })) },
      '/items': { get: op('List items', 'listItems', obj({ data: arr(obj({ id: str })) })) },
      '/order-items/{order_item_id}': { parameters: [pathParam('order_item_id')], get: op('Get an order item', 'getOrderItem', obj({ id: str, item_id: str })) },
      '/users/{userId}/order-items/{itemId}': { parameters: [pathParam('userId'), pathParam('itemId')], delete: op('Remove an item', 'removeItem') },
    },
  });
  for (const graph of [g, buildResourceGraph(qualified)]) {
    const mentioned = [...new Set(graph.facts.flatMap((f) => [f.resource, ...f.paramResources, ...f.producesIds]))];
    // Names no endpoint mentions, some of them qualified forms of ones that are.
    const names = [...mentioned, 'big_user', 'x_api_key', 'key', 'nothing_like_this', ''];
    fc.assert(
      fc.property(fc.subarray(names), (knownList) => {
        const known = new Set(knownList);
        const flags = graph.knownFlags(known);
        graph.facts.forEach((f, i) => {
          if (graph.satisfiableFlags(i, flags) !== graph.satisfiable(i, known)) throw new Error(`satisfiable ${i} ${knownList}`);
          const pairs: [string, number][] = [[f.resource, graph.mainIds[i]!], ...f.paramResources.map((r, j): [string, number] => [r, graph.paramIds[i]![j]!]), ...f.producesIds.map((r, j): [string, number] => [r, graph.producedIds[i]![j]!])];
          for (const [r, id] of pairs) if (Boolean(flags.exact[id]) !== known.has(r)) throw new Error(`exact ${r} ${knownList}`);
        });
      }),
      { seed: 4, numRuns: 300 },
    );
    t.pass(`${graph.facts.length} endpoints, ${mentioned.length} resources`);
  }
  t.equal(g.satisfiableFlags(-5, g.knownFlags(new Set())), 1, 'unknown index has no params');
});
