/**
 * A deterministic synthetic OpenAPI 3.0 document with hundreds of endpoints, for the
 * large-spec scenario: many top-level resources, each with CRUD on the collection and the
 * item, two sub-resources with their own CRUD, two state-changing actions and a search.
 *
 *   /customers                          GET list, POST create
 *   /customers/{customerId}             GET, PUT, PATCH, DELETE
 *   /customers/{customerId}/notes       GET list, POST create          (x2 sub-resources)
 *   /customers/{customerId}/notes/{noteId}  GET, PUT, DELETE
 *   /customers/{customerId}/archive     POST                           (x2 actions)
 *   /search/customers                   GET
 *
 * 19 operations per resource; 32 resources -> 608 endpoints.
 */

/** [plural, singular] */
const RESOURCES: [string, string][] = [
  ['customers', 'customer'], ['orders', 'order'], ['shipments', 'shipment'], ['warehouses', 'warehouse'],
  ['invoices', 'invoice'], ['payments', 'payment'], ['refunds', 'refund'], ['products', 'product'],
  ['categories', 'category'], ['suppliers', 'supplier'], ['employees', 'employee'], ['departments', 'department'],
  ['tickets', 'ticket'], ['articles', 'article'], ['campaigns', 'campaign'], ['coupons', 'coupon'],
  ['carts', 'cart'], ['reviews', 'review'], ['subscriptions', 'subscription'], ['plans', 'plan'],
  ['devices', 'device'], ['sensors', 'sensor'], ['alerts', 'alert'], ['reports', 'report'],
  ['dashboards', 'dashboard'], ['documents', 'document'], ['folders', 'folder'], ['contracts', 'contract'],
  ['vendors', 'vendor'], ['events', 'event'], ['locations', 'location'], ['vehicles', 'vehicle'],
];
const SUBS: [string, string][] = [
  ['notes', 'note'], ['attachments', 'attachment'], ['comments', 'comment'], ['tags', 'tag'], ['contacts', 'contact'],
  ['addresses', 'address'], ['line-items', 'line item'], ['approvals', 'approval'], ['audits', 'audit'], ['versions', 'version'],
];
const ACTIONS = ['archive', 'restore', 'export', 'approve', 'publish', 'duplicate', 'lock', 'assign'];

const camel = (s: string) => s.replace(/[- ](\w)/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^\w/, (c) => c.toUpperCase());

type Op = Record<string, unknown>;

function op(operationId: string, summary: string, description: string, tag: string, extra: Op = {}): Op {
  return {
    operationId,
    summary,
    description,
    tags: [tag],
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } } } } } },
    ...extra,
  };
}

function pathParam(name: string, what: string): Op {
  return { name, in: 'path', required: true, description: `Identifier of the ${what}`, schema: { type: 'string' } };
}

const listParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];

function body(what: string): Op {
  return {
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string', description: `Name of the ${what}` }, status: { type: 'string' } } } } },
    },
  };
}

export interface SyntheticSpec {
  doc: Record<string, unknown>;
  endpointCount: number;
  /** [plural, singular] of every top-level resource. */
  resources: [string, string][];
}

export function buildLargeSpec(resourceCount = RESOURCES.length): SyntheticSpec {
  const paths: Record<string, Record<string, Op>> = {};
  let count = 0;
  const add = (p: string, method: string, o: Op, params?: Op[]) => {
    paths[p] ??= params ? { parameters: params as unknown as Op } : {};
    paths[p]![method] = o;
    count++;
  };
  const resources = RESOURCES.slice(0, resourceCount);
  resources.forEach(([plural, one], ri) => {
    const P = pascal(one);
    const idName = `${camel(one)}Id`;
    const item = `/${plural}/{${idName}}`;
    const idParam = pathParam(idName, one);
    add(`/${plural}`, 'get', op(`list${pascal(plural)}`, `List ${plural}`, `Returns a page of ${plural}, newest first.`, plural, { parameters: listParams }));
    add(`/${plural}`, 'post', op(`create${P}`, `Create a ${one}`, `Creates a new ${one} and returns it.`, plural, body(one)));
    add(item, 'get', op(`get${P}`, `Get a ${one}`, `Returns one ${one} by its id.`, plural), [idParam]);
    add(item, 'put', op(`replace${P}`, `Replace a ${one}`, `Replaces every field of the ${one}.`, plural, body(one)));
    add(item, 'patch', op(`update${P}`, `Update a ${one}`, `Changes some fields of the ${one}.`, plural, body(one)));
    add(item, 'delete', op(`delete${P}`, `Delete a ${one}`, `Deletes the ${one} permanently.`, plural));
    for (let s = 0; s < 2; s++) {
      const [subPlural, subOne] = SUBS[(ri * 3 + s * 7) % SUBS.length]!;
      const SP = pascal(subOne);
      const subId = `${camel(subOne)}Id`;
      const coll = `${item}/${subPlural}`;
      const subItem = `${coll}/{${subId}}`;
      add(coll, 'get', op(`list${P}${pascal(subPlural)}`, `List the ${subPlural} of a ${one}`, `Returns the ${subPlural} attached to the ${one}.`, plural), [idParam]);
      add(coll, 'post', op(`add${P}${SP}`, `Add a ${subOne} to a ${one}`, `Attaches a new ${subOne} to the ${one}.`, plural, body(subOne)));
      add(subItem, 'get', op(`get${P}${SP}`, `Get a ${subOne} of a ${one}`, `Returns one ${subOne} of the ${one}.`, plural), [idParam, pathParam(subId, subOne)]);
      add(subItem, 'put', op(`update${P}${SP}`, `Update a ${subOne} of a ${one}`, `Changes the ${subOne} of the ${one}.`, plural, body(subOne)));
      add(subItem, 'delete', op(`remove${P}${SP}`, `Remove a ${subOne} from a ${one}`, `Detaches and deletes the ${subOne}.`, plural));
    }
    for (let a = 0; a < 2; a++) {
      const action = ACTIONS[(ri + a * 3) % ACTIONS.length]!;
      add(`${item}/${action}`, 'post', op(`${action}${P}`, `${pascal(action)} a ${one}`, `Marks the ${one} as ${action}d.`, plural), [idParam]);
    }
    add(`/search/${plural}`, 'get', op(`search${pascal(plural)}`, `Search ${plural}`, `Full-text search over ${plural} by name and status.`, plural, { parameters: [{ name: 'q', in: 'query', required: true, schema: { type: 'string' } }, ...listParams] }));
  });
  const doc = {
    openapi: '3.0.3',
    info: { title: 'Bench Large Synthetic API', version: '1.0.0', description: `${count} synthetic endpoints over ${resources.length} resources.` },
    servers: [{ url: 'https://api.example.com/v1' }],
    tags: resources.map(([plural]) => ({ name: plural })),
    paths,
  };
  return { doc, endpointCount: count, resources };
}

const PHRASES = ['show me the {one}', 'create a new {one}', 'delete this {one}', 'list all {plural}', 'add a note to the {one}', 'search {plural} by name', 'update the {one} status', 'archive the old {one}', 'export {plural} for finance', 'attach a file to the {one}'];

/** Prompt n against the synthetic spec: a phrase about one resource, unique through `tag`. */
export function largeSpecPrompt(resources: [string, string][], n: number, tag: string): string {
  const [plural, one] = resources[n % resources.length]!;
  const phrase = PHRASES[Math.floor(n / resources.length) % PHRASES.length]!.replace('{one}', one).replace('{plural}', plural);
  return `${phrase} ${tag}`;
}
