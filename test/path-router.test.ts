import t from 'tap';
import { parseApiCall, PathRouter } from '../engine/path-router';
import type { Endpoint, HttpMethod } from '../engine/types';

function endpoints(ids: string[]): Endpoint[] {
  return ids.map((id, index) => {
    const [method, path] = id.split(' ') as [HttpMethod, string];
    return {
      id, index, method, path, summary: '', description: '', operationId: '', tags: [],
      parameters: [], requestBodyFields: [], responseFields: [], deprecated: false,
    };
  });
}

const eps = endpoints([
  'GET /users',
  'POST /users',
  'GET /users/me',
  'GET /users/{id}',
  'PUT /users/{id}',
  'DELETE /users/{id}',
  'GET /users/{userId}/orders/{orderId}',
  'GET /files/{name}.{ext}',
  'POST /orders/{orderId}:cancel',
  'GET /teams/{teamId}/members',
  'GET /teams/search',
]);
const router = new PathRouter(eps, '/v2');
const idOf = (i: number | undefined) => (i === undefined ? undefined : eps[i]!.id);

t.test('concrete paths resolve to templates with parameter values', async (t) => {
  const m = router.resolve('GET /users/123/orders/9');
  t.equal(idOf(m?.endpoint), 'GET /users/{userId}/orders/{orderId}');
  t.same(m?.params, { userId: '123', orderId: '9' });
});

t.test('method from the string, from the field, or defaulting to GET', async (t) => {
  t.equal(idOf(router.resolve('PUT /users/5')?.endpoint), 'PUT /users/{id}');
  t.equal(idOf(router.resolve('/users/5', 'delete')?.endpoint), 'DELETE /users/{id}');
  t.equal(idOf(router.resolve('/users/5')?.endpoint), 'GET /users/{id}');
  t.equal(router.resolve('PATCH /users/5'), undefined, 'a method the path does not have is a miss');
});

t.test('trailing slash, query string, fragment, repeated slashes, full URLs', async (t) => {
  for (const raw of ['/users/7/', '/users/7?expand=teams', '/users/7#top', '//users//7', 'https://api.example.com/users/7', 'get /users/7/?a=1']) {
    const m = router.resolve(raw);
    t.equal(idOf(m?.endpoint), 'GET /users/{id}', raw);
    t.same(m?.params, { id: '7' }, raw);
  }
});

t.test('templates compete: static segments win, with backtracking', async (t) => {
  t.equal(idOf(router.resolve('/users/me')?.endpoint), 'GET /users/me');
  t.equal(idOf(router.resolve('/users/mere')?.endpoint), 'GET /users/{id}');
  t.equal(idOf(router.resolve('/teams/search')?.endpoint), 'GET /teams/search');
  // "search" is static under /teams, but /teams/search/members only exists via {teamId}.
  t.same(router.resolve('/teams/search/members'), { endpoint: 9, params: { teamId: 'search' } });
});

t.test('percent-encoding is decoded per segment; dots stay in values', async (t) => {
  t.same(router.resolve('/users/a%20b')?.params, { id: 'a b' });
  t.same(router.resolve('/users/a%2Fb')?.params, { id: 'a/b' }, 'an encoded slash stays inside its segment');
  t.same(router.resolve('/users/john.doe')?.params, { id: 'john.doe' });
  t.same(router.resolve('/users/%E0%A4%A')?.params, { id: '%E0%A4%A' }, 'a malformed escape is kept raw, not an error');
});

t.test('patterned segments capture several values', async (t) => {
  const f = router.resolve('/files/report.v2.pdf');
  t.equal(idOf(f?.endpoint), 'GET /files/{name}.{ext}');
  t.same(f?.params, { name: 'report', ext: 'v2.pdf' });
  const c = router.resolve('POST /orders/77:cancel');
  t.equal(idOf(c?.endpoint), 'POST /orders/{orderId}:cancel');
  t.same(c?.params, { orderId: '77' });
});

t.test('server base path is stripped when the full path does not match', async (t) => {
  t.equal(idOf(router.resolve('/v2/users/3')?.endpoint), 'GET /users/{id}');
  t.equal(router.resolve('/v3/users/3'), undefined);
});

t.test('misses are undefined, never errors', async (t) => {
  for (const raw of ['', '/', '/nothing', '/users/1/2/3/4', 'GET', '/'.repeat(500), `/${'a/'.repeat(100)}`]) {
    t.equal(router.resolve(raw), undefined, JSON.stringify(raw.slice(0, 20)));
  }
});

t.test('parseApiCall', async (t) => {
  t.same(parseApiCall('  delete /x/1?y=2 '), { method: 'DELETE', path: '/x/1' });
  t.same(parseApiCall('x/1'), { method: undefined, path: '/x/1' });
  t.same(parseApiCall('/x', 'post'), { method: 'POST', path: '/x' });
});

t.test('lookup cost grows with the path, not with the catalog', async (t) => {
  // Structural check: a catalog 100x larger resolves the same path through the same
  // number of trie nodes. Count node visits via a wide static fan-out, not time.
  const big = endpoints(Array.from({ length: 5000 }, (_, i) => `GET /r${i}/{id}/items`));
  const r = new PathRouter(big);
  t.same(r.resolve('/r4999/42/items'), { endpoint: 4999, params: { id: '42' } });
  t.same(r.resolve('/r0/1/items'), { endpoint: 0, params: { id: '1' } });
});
