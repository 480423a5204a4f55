/**
 * What each endpoint of a catalog does to which resource, and how endpoints feed each
 * other: the "resource graph" that candidate generation, features and the synthetic
 * workflow generator share.
 *
 *   GET /users ──produces user ids──▶ GET /users/{userId} ──path extends──▶ GET /users/{userId}/orders
 *        │                                                                      │ produces order ids
 *        └──────────────────────────── distance 2 ─────────────────────────────▶ GET /orders/{order_id}
 *
 * Everything is derived from the endpoint's own path, method, operationId, summary and
 * response field names; there are no per-API rules. Pure and synchronous: built once per
 * catalog version, online and offline.
 */
import type { Catalog, Endpoint } from './types';
import { tokenize } from './tokenizer';
import { describesPeople, peopleLists } from './people';

export type EndpointKind = 'list' | 'search' | 'read' | 'create' | 'update' | 'delete' | 'action' | 'auth' | 'other';

export interface EndpointFacts {
  kind: EndpointKind;
  /** Main resource noun, singular, lower snake case: "user", "order_item". */
  resource: string;
  /** `resource` split into words. */
  resourceTokens: string[];
  /** Resources named by earlier static path segments, outermost first. */
  parents: string[];
  /**
   * Path parameters that identify a record, in path order. Parameters with a closed set
   * of values (an enum: "/trending/{media_type}/{window}") are in `choiceParams` instead:
   * the client picks those, no earlier call has to produce them.
   */
  pathParams: string[];
  /** Enum-valued path parameters and their allowed values. */
  choiceParams: { name: string; values: string[] }[];
  /** Records of this resource describe people (judged from response fields or the noun). */
  personish: boolean;
  /** This endpoint's own response: its records are people / how many nested lists of people it has. */
  returnsPeople: boolean;
  peopleLists: number;
  /** The resource each path parameter identifies, parallel to `pathParams`. */
  paramResources: string[];
  /** Resources whose ids the success response carries (so later calls can use them). */
  producesIds: string[];
  /** Number of path segments, not counting version prefixes such as "v1" or "api". */
  depth: number;
  /** The verb of the operation: "get", "list", "create", "search", "cancel", ... */
  actionVerb?: string;
  /** Ranking/filter words of a list endpoint ("popular", "top rated"), when it has them. */
  qualifier?: string;
}

export interface ResourceGraph {
  /** Facts per endpoint; index = Endpoint.index. */
  facts: EndpointFacts[];
  /** Endpoints whose response carries ids of `resource` (or a resource named like it). Shared array: do not mutate. */
  producersOf(resource: string): number[];
  /** Endpoints with a path parameter identifying `resource` (or a resource named like it). Shared array: do not mutate. */
  consumersOf(resource: string): number[];
  /** Fraction (0..1) of the endpoint's path parameters whose resource is in `known`; 1 with no parameters. */
  satisfiable(endpointIdx: number, knownResources: Set<string>): number;
  /**
   * Every resource name the facts mention has an integer id (0..resourceCount-1), so a
   * request can hold what it knows in flag arrays instead of string sets: the request
   * path asks about each endpoint's resources for every endpoint.
   */
  resourceCount: number;
  /** Ids of each endpoint's path parameter resources, parallel to facts[i].paramResources. */
  paramIds: readonly Int32Array[];
  /** Ids of the resources each endpoint produces, parallel to facts[i].producesIds. */
  producedIds: readonly Int32Array[];
  /** Id of each endpoint's main resource (facts[i].resource). */
  mainIds: Int32Array;
  /** `known` as flags by resource id, for satisfiableFlags and exact membership tests. */
  knownFlags(knownResources: ReadonlySet<string>): KnownFlags;
  /** satisfiable(endpointIdx, known) for flags = knownFlags(known), without string work. */
  satisfiableFlags(endpointIdx: number, flags: KnownFlags): number;
  /** Fewest dependency hops from one endpoint to another; Infinity when unreachable within MAX_HOPS. */
  distance(from: number, to: number): number;
  /** Direct successors of an endpoint in the dependency graph, ascending. */
  successors(endpointIdx: number): readonly number[];
}

/** A set of known resources by resource id (see ResourceGraph.knownFlags). */
export interface KnownFlags {
  /** 1 where the resource itself is known: `known.has(name)`. */
  exact: Uint8Array;
  /** 1 where it or a resource named like it is known (sameResource): what satisfiable counts. */
  covered: Uint8Array;
}

/** Hop cap of `distance`: longer chains are not workflows anyone follows. */
export const MAX_HOPS = 6;
/** Above this many endpoints, distance rows are cached in a bounded map instead of a full table. */
const FULL_TABLE_LIMIT = 1000;
const ROW_CACHE_LIMIT = 512;
const UNREACHED = 255;

// ---- words -----------------------------------------------------------------------------
// These are English and REST vocabulary, not knowledge of any particular API.

const IRREGULAR: Record<string, string> = {
  people: 'person', men: 'man', women: 'woman', children: 'child', mice: 'mouse', geese: 'goose',
  feet: 'foot', teeth: 'tooth', indices: 'index', vertices: 'vertex', matrices: 'matrix',
  appendices: 'appendix', criteria: 'criterion', phenomena: 'phenomenon', analyses: 'analysis',
  diagnoses: 'diagnosis', theses: 'thesis', hypotheses: 'hypothesis', crises: 'crisis', axes: 'axis',
  leaves: 'leaf', halves: 'half', shelves: 'shelf', wolves: 'wolf', knives: 'knife', wives: 'wife',
  lives: 'life', thieves: 'thief', selves: 'self', heroes: 'hero', potatoes: 'potato', tomatoes: 'tomato',
  echoes: 'echo', vetoes: 'veto', aliases: 'alias', statuses: 'status', buses: 'bus', viruses: 'virus',
  campuses: 'campus', bonuses: 'bonus', censuses: 'census', canvases: 'canvas', biases: 'bias',
  quizzes: 'quiz', corpora: 'corpus', schemata: 'schema', cacti: 'cactus', fungi: 'fungus',
};
/** Words that look plural but are not (or are their own plural). */
const INVARIANT = new Set([
  'series', 'species', 'news', 'data', 'media', 'metadata', 'info', 'information', 'analytics',
  'statistics', 'physics', 'economics', 'settings', 'gas', 'bus', 'sms', 'dns', 'aws', 'gps', 'ios',
  'os', 'yes', 'has', 'was', 'its', 'this', 'plus', 'bonus', 'status', 'canvas', 'alias', 'bias',
]);
/** Nouns ending in "ie" whose plural "-ies" must not become "-y". */
const IE_NOUNS = new Set([
  'movie', 'cookie', 'zombie', 'rookie', 'selfie', 'pie', 'tie', 'lie', 'die', 'hoodie', 'genie',
  'calorie', 'prairie', 'newbie', 'brownie', 'smoothie', 'goalie', 'freebie', 'birdie', 'sortie',
  'auntie', 'veggie', 'indie', 'techie', 'walkie', 'talkie', 'boogie', 'collie', 'eerie', 'lingerie',
]);

/** Singular form of one English word (lower case in, lower case out). */
export function singularize(word: string): string {
  const w = word.toLowerCase();
  if (w.length <= 2 || INVARIANT.has(w) || /\d/.test(w)) return w;
  const irregular = IRREGULAR[w];
  if (irregular) return irregular;
  if (w.endsWith('ies') && w.length > 4) return IE_NOUNS.has(w.slice(0, -1)) ? w.slice(0, -1) : w.slice(0, -3) + 'y';
  if (w.endsWith('sses') || w.endsWith('shes') || w.endsWith('ches') || w.endsWith('xes') || w.endsWith('zzes')) return w.slice(0, -2);
  if (w.endsWith('ss') || w.endsWith('us') || w.endsWith('is') || w.endsWith('ous')) return w;
  if (w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

/** Lower snake case resource name of a word list, last word singular: ["movie","credits"] -> "movie_credit". */
export function resourceFromTokens(tokens: string[]): string {
  if (tokens.length === 0) return '';
  const out = tokens.map((t) => t.toLowerCase());
  out[out.length - 1] = singularize(out[out.length - 1]!);
  return out.join('_');
}

/** Resource name of free text or an identifier: "OrderItems" / "order-items" -> "order_item". */
export function resourceName(text: string): string {
  return resourceFromTokens(tokenize(text));
}

const VERSION_SEG = /^(v\d+[a-z0-9.]*|api|apis|rest|\d+(\.\d+)*)$/i;
const SELF_WORDS = new Set(['me', 'self', 'current', 'mine', 'my', 'myself']);
const AUTH_WORDS = new Set([
  'auth', 'authentication', 'authorization', 'authorize', 'oauth', 'oauth2', 'login', 'logout',
  'signin', 'signout', 'signup', 'sso', 'saml', 'openid', 'authenticate',
]);
const SEARCH_WORDS = new Set(['search', 'find', 'query', 'lookup', 'autocomplete', 'typeahead', 'suggest']);
const QUERY_PARAMS = new Set(['q', 'query', 'search', 'term', 'keyword', 'keywords', 'text', 'search_term', 'search_query']);
/** Verbs that name an operation when they end a path (POST /orders/{id}/cancel). Plural forms are nouns. */
const ACTION_VERBS = new Set([
  'cancel', 'archive', 'unarchive', 'pay', 'test', 'complete', 'approve', 'reject', 'send', 'resend',
  'publish', 'unpublish', 'start', 'stop', 'restart', 'enable', 'disable', 'activate', 'deactivate',
  'verify', 'confirm', 'accept', 'decline', 'retry', 'refund', 'capture', 'void', 'close', 'open',
  'reopen', 'lock', 'unlock', 'merge', 'move', 'copy', 'clone', 'duplicate', 'import', 'export',
  'sync', 'reset', 'run', 'execute', 'trigger', 'submit', 'assign', 'unassign', 'transfer', 'upload',
  'download', 'follow', 'unfollow', 'like', 'unlike', 'star', 'unstar', 'subscribe', 'unsubscribe',
  'invite', 'join', 'leave', 'mute', 'unmute', 'pin', 'unpin', 'rate', 'vote', 'share', 'restore',
  'revoke', 'rotate', 'validate', 'check', 'preview', 'render', 'resolve', 'acknowledge', 'ack',
  'snooze', 'dismiss', 'mark', 'block', 'unblock', 'ban', 'unban', 'suspend', 'resume', 'pause',
  'schedule', 'deploy', 'rollback', 'promote', 'scale', 'build', 'apply', 'redeem', 'renew', 'reply',
  'forward', 'convert', 'calculate', 'estimate', 'generate', 'refresh', 'reindex', 'approve', 'ship',
  'fulfill', 'return', 'reserve', 'release', 'checkout', 'register', 'unregister', 'notify', 'remind',
]);
/** Words of list endpoints that rank or filter a collection (GET /items/popular). */
const QUALIFIERS = new Set([
  'popular', 'latest', 'top', 'trending', 'recent', 'recently', 'upcoming', 'featured', 'recommended',
  'now', 'today', 'newest', 'oldest', 'best', 'hot', 'hottest', 'random', 'nearby', 'daily', 'weekly',
  'monthly', 'highest', 'lowest', 'most', 'similar', 'related', 'starred', 'new', 'current', 'active',
  'pending', 'archived', 'public', 'expired', 'open', 'closed', 'default', 'next', 'previous', 'last', 'first',
]);
const CONTAINERS = new Set([
  'data', 'results', 'items', 'records', 'entries', 'list', 'values', 'content', 'hits', 'rows',
  'objects', 'elements', 'nodes', 'edges', 'collection', 'resources', 'response', 'result', 'value', 'page',
]);
const ID_LEAVES = new Set(['id', 'uuid', 'guid', 'slug']);
const ID_ENDING = /(id|ids|uuid|guid|slug)$/i;
/** Parameter-name words that identify but do not name a resource ({id}, {slug}, {user_id} -> "user"). */
const ID_SUFFIX = new Set(['id', 'ids', 'uuid', 'guid', 'key', 'slug', 'name', 'code', 'number', 'num', 'no', 'ref', 'identifier', 'hash', 'sid', 'handle', 'token']);

const VERB_KIND: Record<string, EndpointKind> = {};
for (const v of ['search', 'find', 'query', 'lookup', 'autocomplete']) VERB_KIND[v] = 'search';
for (const v of ['list', 'browse', 'enumerate']) VERB_KIND[v] = 'list';
for (const v of ['get', 'fetch', 'retrieve', 'read', 'show', 'describe', 'view', 'load']) VERB_KIND[v] = 'read';
for (const v of ['create', 'add', 'new', 'insert', 'post', 'register', 'make', 'write', 'upload', 'open']) VERB_KIND[v] = 'create';
for (const v of ['update', 'edit', 'modify', 'change', 'set', 'patch', 'replace', 'put', 'rename', 'adjust', 'upsert', 'save']) VERB_KIND[v] = 'update';
for (const v of ['delete', 'remove', 'destroy', 'purge', 'clear', 'empty', 'revoke', 'erase']) VERB_KIND[v] = 'delete';
for (const v of ['login', 'logout', 'signin', 'signout', 'signup', 'authenticate', 'authorize']) VERB_KIND[v] = 'auth';

// ---- one endpoint ----------------------------------------------------------------------

type Role = 'version' | 'param' | 'self' | 'auth' | 'search' | 'verb' | 'qualifier' | 'noun';
interface Seg {
  role: Role;
  tokens: string[];
  params: string[];
  customVerb?: string;
}

function parseSegments(path: string, method: string): Seg[] {
  const raw = path.split('?')[0]!.split('/').filter(Boolean);
  const segs: Seg[] = [];
  raw.forEach((text, i) => {
    let s = text;
    let customVerb: string | undefined;
    const colon = s.lastIndexOf(':');
    if (colon > 0 && /^[A-Za-z]+$/.test(s.slice(colon + 1))) {
      customVerb = tokenize(s.slice(colon + 1))[0];
      s = s.slice(0, colon);
    }
    s = s.replace(/\.(json|xml|csv|ya?ml|txt|html?)$/i, '');
    // RPC-style pseudo paths ("/#Action=CreateDBProxy", "/?X-Target=Svc.ListThings"): the
    // operation name after "=" is the verb and resource.
    const rpc = /=([^=]*)$/.exec(s);
    if (rpc) {
      const opTokens = tokenize(rpc[1]!.split('.').pop()!);
      const head = opTokens[0];
      if (head && (VERB_KIND[head] || ACTION_VERBS.has(head) || head === 'describe') && opTokens.length > 1) {
        return void segs.push({ role: 'noun', tokens: opTokens.slice(1), params: [], customVerb: VERB_KIND[head] ? undefined : head });
      }
      if (opTokens.length > 0) return void segs.push({ role: 'noun', tokens: opTokens, params: [] });
    }
    const params = [...s.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    if (params.length > 0) return void segs.push({ role: 'param', tokens: [], params, customVerb });
    const tokens = tokenize(s);
    if (tokens.length === 0) return;
    const last = i === raw.length - 1;
    let role: Role = 'noun';
    if (VERSION_SEG.test(s)) role = 'version';
    else if (tokens.length === 1 && SELF_WORDS.has(tokens[0]!)) role = 'self';
    else if (tokens.some((t) => AUTH_WORDS.has(t))) role = 'auth';
    else if (tokens.length === 1 && SEARCH_WORDS.has(tokens[0]!)) role = 'search';
    else if (last && segs.length > 0 && method !== 'GET' && ACTION_VERBS.has(tokens[0]!) && tokens.length <= 3) role = 'verb';
    else if (last && method === 'GET' && tokens.some((t) => QUALIFIERS.has(t))) role = 'qualifier';
    segs.push({ role, tokens, params: [], customVerb });
  });
  return segs;
}

function isPluralNoun(s: Seg | undefined): boolean {
  if (!s || s.role !== 'noun') return false;
  const w = s.tokens[s.tokens.length - 1]!;
  return singularize(w) !== w;
}

function isIdLikeParam(name: string): boolean {
  const toks = tokenize(name);
  const lastTok = toks[toks.length - 1] ?? '';
  return ID_SUFFIX.has(lastTok) || /(id|name)$/.test(lastTok);
}

/** The resource a path parameter identifies, from its name and the noun before it. */
function paramResourceOf(name: string, prevNoun: string | undefined, nouns: Set<string>): string {
  const toks = tokenize(name);
  while (toks.length > 1 && ID_SUFFIX.has(toks[toks.length - 1]!)) toks.pop();
  if (toks.length === 1) {
    const t = toks[0]!;
    // "userid" / "username" glued into one word
    const glued = /^([a-z]{3,})(id|name)$/.exec(t);
    if (glued && !ID_SUFFIX.has(t)) toks[0] = glued[1]!;
    if (ID_SUFFIX.has(toks[0]!)) return prevNoun ?? resourceFromTokens(toks);
  }
  const own = resourceFromTokens(toks);
  if (!prevNoun) return own;
  // {keyId} under /api-keys: the param abbreviates the collection's name.
  if (own !== prevNoun && prevNoun.endsWith(`_${own}`)) return prevNoun;
  // {sku} under /inventory: a one-word key that names no collection anywhere in the API.
  if (toks.length === 1 && !nouns.has(own)) return prevNoun;
  return own;
}

function opVerbOf(e: Endpoint): string | undefined {
  const fromOp = tokenize(e.operationId)[0];
  if (fromOp && (VERB_KIND[fromOp] || ACTION_VERBS.has(fromOp))) return fromOp;
  const fromSummary = tokenize(e.summary)[0];
  if (fromSummary && (VERB_KIND[fromSummary] || ACTION_VERBS.has(fromSummary))) return fromSummary;
  return undefined;
}

/** Response is a collection: a root array, or a container array without an object id beside it. */
const PAGING_FIELDS = new Set(['total_pages', 'total_results', 'total_count', 'next_page', 'has_more', 'next_cursor', 'page_count']);

function isListResponse(fields: string[], resource: string): boolean {
  if (fields.some((f) => f.startsWith('[]'))) return true;
  if (fields.includes('id')) return false;
  // Paging fields at the root say "one page of a list" even when the items went unnamed.
  if (fields.some((f) => PAGING_FIELDS.has(f))) return true;
  return fields.some((f) => {
    const m = /^([^.[\]]+)\[\]/.exec(f);
    return m !== null && (CONTAINERS.has(m[1]!.toLowerCase()) || resourceName(m[1]!) === resource);
  });
}

interface PathInfo {
  segs: Seg[];
  nounSegs: Seg[];
}

function factsOf(e: Endpoint, info: PathInfo, nouns: Set<string>, keyLeaves: Map<string, Set<string>>, keyWords: Set<string>): EndpointFacts {
  const { segs } = info;
  const method = e.method;
  const meaningful = segs.filter((s) => s.role !== 'version');
  const lastSeg = meaningful[meaningful.length - 1];
  const nounSegs = info.nounSegs;
  const mainSeg = nounSegs[nounSegs.length - 1];
  let resource = mainSeg ? resourceFromTokens(mainSeg.tokens) : '';
  if (!resource) {
    const lastStatic = [...meaningful].reverse().find((s) => s.role !== 'param');
    resource = lastStatic ? resourceFromTokens(lastStatic.tokens) : resourceFromTokens(tokenize(e.operationId).slice(1)) || 'root';
  }
  const parents = nounSegs.slice(0, -1).map((s) => resourceFromTokens(s.tokens));

  const pathParams: string[] = [];
  const paramResources: string[] = [];
  const choiceParams: { name: string; values: string[] }[] = [];
  let prevNoun: string | undefined;
  for (const s of segs) {
    if (s.role === 'noun') prevNoun = resourceFromTokens(s.tokens);
    else if (s.role === 'param') {
      for (const p of s.params) {
        const values = e.parameters.find((x) => x.in === 'path' && x.name === p)?.enum;
        if (values) {
          choiceParams.push({ name: p, values });
          continue;
        }
        pathParams.push(p);
        paramResources.push(paramResourceOf(p, prevNoun, nouns));
      }
      prevNoun = undefined;
    }
  }

  const opVerb = opVerbOf(e);
  const opKind = opVerb ? VERB_KIND[opVerb] : undefined;
  const verbSeg = lastSeg && lastSeg.role === 'verb' ? lastSeg.tokens[0] : undefined;
  const customVerb = segs[segs.length - 1]?.customVerb;
  const hasSearchSeg = segs.some((s) => s.role === 'search');
  const hasAuth = segs.some((s) => s.role === 'auth') || opKind === 'auth';
  const requiredQuery = e.parameters.some((p) => p.in === 'query' && p.required && QUERY_PARAMS.has(tokenize(p.name).join('_')));
  let kind: EndpointKind;
  let actionVerb: string | undefined = opVerb;
  if (method === 'HEAD' || method === 'OPTIONS' || method === 'TRACE') kind = 'other';
  else if (hasAuth) kind = 'auth';
  else if (customVerb && !VERB_KIND[customVerb]) {
    kind = method === 'GET' ? 'read' : 'action';
    actionVerb = customVerb;
  } else if (method === 'GET') {
    if (hasSearchSeg || opKind === 'search' || requiredQuery || customVerb === 'search') kind = 'search';
    else if (lastSeg && lastSeg.role === 'param' && lastSeg.params.every((p) => choiceParams.some((c) => c.name === p)))
      kind = e.responseFields.length > 0 && !isListResponse(e.responseFields, resource) ? 'read' : 'list';
    else if (lastSeg && (lastSeg.role === 'param' || lastSeg.role === 'self'))
      kind = lastSeg.role === 'param' && !lastSeg.params.some(isIdLikeParam) && isListResponse(e.responseFields, resource) ? 'list' : 'read';
    else if (e.responseFields.length > 0) kind = isListResponse(e.responseFields, resource) ? 'list' : 'read';
    else if (opKind === 'list' || lastSeg?.role === 'qualifier') kind = 'list';
    else kind = isPluralNoun(mainSeg) ? 'list' : 'read';
  } else if (method === 'DELETE') kind = 'delete';
  else if (verbSeg) {
    kind = hasSearchSeg ? 'search' : 'action';
    actionVerb = verbSeg;
  } else if (hasSearchSeg || opKind === 'search') kind = 'search';
  else if (method === 'POST') {
    if (opKind === 'update' || opKind === 'delete' || opKind === 'read' || opKind === 'list') kind = opKind;
    else if (opVerb && ACTION_VERBS.has(opVerb) && !opKind && !isPluralNoun(lastSeg)) kind = 'action';
    else kind = lastSeg?.role === 'param' && opKind !== 'create' ? 'update' : 'create';
  } else kind = opKind === 'create' ? 'create' : 'update';
  if (kind === 'auth' && !actionVerb) {
    const lastStatic = [...meaningful].reverse().find((s) => s.role !== 'param');
    actionVerb = lastStatic?.tokens[lastStatic.tokens.length - 1] ?? 'auth';
  } else if (!actionVerb || (VERB_KIND[actionVerb] && kind !== 'action' && VERB_KIND[actionVerb] !== kind && kind !== 'auth')) {
    actionVerb = DEFAULT_VERB[kind] ?? actionVerb;
  }

  const qualifier = kind === 'list' && lastSeg?.role === 'qualifier' ? lastSeg.tokens.join(' ') : undefined;
  const producesIds = producedIds(e.responseFields, resource, kind, keyLeaves, keyWords);
  const depth = meaningful.length;
  return { kind, resource, resourceTokens: resource.split('_'), parents, pathParams, paramResources, choiceParams, personish: false, returnsPeople: describesPeople(e.responseFields), peopleLists: peopleLists(e.responseFields), producesIds, depth, actionVerb, qualifier };
}

const DEFAULT_VERB: Partial<Record<EndpointKind, string>> = {
  list: 'list', search: 'search', read: 'get', create: 'create', update: 'update', delete: 'delete',
};

// Nouns of people-like resources, for specs whose responses carry no schema.
const PERSON_NOUNS = new Set(['person', 'people', 'user', 'member', 'employee', 'customer', 'contact', 'author', 'staff']);

/** Resources whose ids appear in the response field names. */
function producedIds(fields: string[], resource: string, kind: EndpointKind, keyLeaves: Map<string, Set<string>>, keyWords: Set<string>): string[] {
  const out = new Set<string>();
  for (const field of fields) {
    const parts = field.split('.');
    const leaf = parts[parts.length - 1]!.replace(/\[\]$/, '');
    // Cheap filter first: real specs have hundreds of fields per operation, few of them ids.
    if (!ID_ENDING.test(leaf) && !keyWords.has(leaf.toLowerCase())) continue;
    const leafToks = tokenize(leaf);
    let owner: string | undefined;
    for (let i = parts.length - 2; i >= 0 && owner === undefined; i--) {
      const name = parts[i]!.replace(/\[\]$/, '');
      if (!name || CONTAINERS.has(name.toLowerCase())) continue;
      owner = resourceName(name);
    }
    const base = owner ?? resource;
    if (leafToks.length === 1 && (ID_LEAVES.has(leafToks[0]!) || keyLeaves.get(base)?.has(leafToks[0]!))) out.add(base);
    else if (leafToks.length > 1 && (leafToks[leafToks.length - 1] === 'id' || leafToks[leafToks.length - 1] === 'ids')) {
      const r = resourceFromTokens(leafToks.slice(0, -1));
      if (r) out.add(r);
    }
  }
  if (fields.length === 0 && (kind === 'list' || kind === 'search' || kind === 'create')) out.add(resource);
  return [...out];
}

/**
 * Ids of nested records named after their role rather than their resource ("cast[].id",
 * "parts[].id", "known_for[].id") get a type from their shape: a nested object whose
 * fields are mostly the fields of some resource's own record (title, release_date,
 * overview ... of GET /things/{id}) is one of those records, so its id opens that
 * resource's endpoints. Adds those resources to `producesIds`.
 */
function typeNestedIdsByShape(eps: readonly Endpoint[], facts: EndpointFacts[]): void {
  // Record shape of each resource that has an item read: its root-level field names.
  const shapes = new Map<string, Set<string>>();
  facts.forEach((f, i) => {
    const e = eps[i]!;
    if (f.kind !== 'read' || e.method !== 'GET' || f.pathParams.length === 0 || !f.paramResources.includes(f.resource)) return;
    const leaves = new Set(e.responseFields.filter((x) => !x.includes('.')).map((x) => leafKey(x)).filter((x) => x !== 'id'));
    if (leaves.size < SHAPE_MIN_SHARED) return;
    const prev = shapes.get(f.resource);
    if (!prev || leaves.size > prev.size) shapes.set(f.resource, leaves);
  });
  if (shapes.size === 0) return;
  facts.forEach((f, i) => {
    const groups = new Map<string, Set<string>>();
    for (const field of eps[i]!.responseFields) {
      const cut = field.lastIndexOf('.');
      if (cut < 0) continue;
      const parent = field.slice(0, cut);
      if (!groups.has(parent)) groups.set(parent, new Set());
      groups.get(parent)!.add(leafKey(field.slice(cut + 1)));
    }
    for (const leaves of groups.values()) {
      if (!leaves.delete('id') || leaves.size < SHAPE_MIN_SHARED) continue;
      let best: string | undefined;
      let bestScore = 0;
      let second = 0;
      for (const [r, shape] of shapes) {
        let shared = 0;
        for (const l of leaves) if (shape.has(l)) shared++;
        const score = shared >= SHAPE_MIN_SHARED ? shared / leaves.size : 0;
        if (score > bestScore) [second, bestScore, best] = [bestScore, score, r];
        else if (score > second) second = score;
      }
      if (best !== undefined && bestScore >= SHAPE_MIN_SCORE && bestScore - second >= SHAPE_MARGIN && !f.producesIds.includes(best)) f.producesIds.push(best);
    }
  });
}
const SHAPE_MIN_SHARED = 3;
const SHAPE_MIN_SCORE = 0.5;
const SHAPE_MARGIN = 0.1;

function leafKey(name: string): string {
  return tokenize(name.replace(/\[\]$/, '')).join('_');
}

// ---- the graph -------------------------------------------------------------------------

function lastTok(r: string): string {
  const i = r.lastIndexOf('_');
  return i < 0 ? r : r.slice(i + 1);
}

/** Same resource, or one is a qualified form of the other ("key" ~ "api_key"). */
export function sameResource(a: string, b: string): boolean {
  return a === b || qualifies(a, b) || qualifies(b, a);
}

/** long.endsWith(`_${short}`), without building that string (asked per endpoint and request). */
function qualifies(long: string, short: string): boolean {
  const cut = long.length - short.length - 1;
  return cut >= 0 && long.charCodeAt(cut) === 95 /* _ */ && long.endsWith(short);
}

function normPath(path: string): string {
  return path.split('?')[0]!.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '').toLowerCase() || '/';
}

export function buildResourceGraph(c: Catalog): ResourceGraph {
  const eps = c.endpoints;
  const n = eps.length;
  const infos: PathInfo[] = eps.map((e) => {
    const segs = parseSegments(e.path, e.method);
    return { segs, nounSegs: segs.filter((s) => s.role === 'noun') };
  });
  // Pass 1: API-wide vocabulary (collection nouns and the keys used right after them).
  const nouns = new Set<string>();
  const keyLeaves = new Map<string, Set<string>>();
  for (const info of infos) {
    let prev: string | undefined;
    for (const s of info.segs) {
      if (s.role === 'noun') nouns.add((prev = resourceFromTokens(s.tokens)));
      else if (s.role === 'param' && prev && s.params.length === 1) {
        const key = tokenize(s.params[0]!).join('_');
        if (!keyLeaves.has(prev)) keyLeaves.set(prev, new Set());
        keyLeaves.get(prev)!.add(key);
        prev = undefined;
      } else prev = undefined;
    }
  }
  const keyWords = new Set<string>();
  for (const set of keyLeaves.values()) for (const k of set) if (!k.includes('_')) keyWords.add(k);
  const facts = eps.map((e, i) => factsOf(e, infos[i]!, nouns, keyLeaves, keyWords));
  const people = new Set<string>();
  for (const f of facts) if (PERSON_NOUNS.has(f.resource) || f.returnsPeople) people.add(f.resource);
  for (const f of facts) f.personish = people.has(f.resource);
  typeNestedIdsByShape(eps, facts);

  const producers = new Map<string, number[]>();
  const consumers = new Map<string, number[]>();
  const byLast = new Map<string, Set<string>>();
  const addTo = (m: Map<string, number[]>, k: string, v: number): void => {
    const list = m.get(k);
    if (!list) m.set(k, [v]);
    else if (list[list.length - 1] !== v) list.push(v);
  };
  const noteName = (r: string): void => {
    const k = lastTok(r);
    if (!byLast.has(k)) byLast.set(k, new Set());
    byLast.get(k)!.add(r);
  };
  facts.forEach((f, i) => {
    for (const r of f.producesIds) (addTo(producers, r, i), noteName(r));
    for (const r of f.paramResources) (addTo(consumers, r, i), noteName(r));
  });
  const related = (r: string): string[] => [...(byLast.get(lastTok(r)) ?? [])].filter((x) => sameResource(x, r));
  // Memoised: candidate generation asks for the same few resources on every request.
  const unionCache = new Map<Map<string, number[]>, Map<string, number[]>>([[producers, new Map()], [consumers, new Map()]]);
  const union = (m: Map<string, number[]>, r: string): number[] => {
    const cache = unionCache.get(m)!;
    const hit = cache.get(r);
    if (hit) return hit;
    const s = new Set<number>();
    for (const x of related(r)) for (const i of m.get(x) ?? []) s.add(i);
    const out = [...s].sort((a, b) => a - b);
    if (cache.size < 10_000) cache.set(r, out);
    return out;
  };

  // Edges: a -> b when a yields an id b's path needs, when b's path extends a's nearest
  // existing ancestor path, or when b changes what a (a GET of the same path) read.
  const adj: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  facts.forEach((f, b) => {
    for (const p of new Set(f.paramResources)) {
      for (const a of union(producers, p)) if (a !== b && facts[a]!.kind !== 'delete') adj[a]!.add(b);
    }
  });
  const byPath = new Map<string, number[]>();
  eps.forEach((e, i) => addTo(byPath, normPath(e.path), i));
  eps.forEach((e, b) => {
    const segs = normPath(e.path).split('/').filter(Boolean);
    for (let k = segs.length - 1; k >= 1; k--) {
      const group = byPath.get('/' + segs.slice(0, k).join('/'));
      if (!group) continue;
      for (const a of group) if (eps[a]!.method !== 'DELETE') adj[a]!.add(b);
      break;
    }
  });
  for (const group of byPath.values()) {
    for (const a of group) if (eps[a]!.method === 'GET') for (const b of group) if (eps[b]!.method !== 'GET') adj[a]!.add(b);
  }
  const succ = adj.map((s) => [...s].sort((x, y) => x - y));

  const ids = new Map<string, number>();
  const idOf = (r: string): number => {
    let id = ids.get(r);
    if (id === undefined) ids.set(r, (id = ids.size));
    return id;
  };
  const paramIds = facts.map((f) => Int32Array.from(f.paramResources, idOf));
  const producedIds = facts.map((f) => Int32Array.from(f.producesIds, idOf));
  const mainIds = Int32Array.from(facts, (f) => idOf(f.resource));
  const names = [...ids.keys()];
  // Per id, the ids of every name sameResource relates to it (itself included); such
  // names share their last word, so only names with the same last word are compared.
  const byLastWord = new Map<string, number[]>();
  names.forEach((r, id) => addTo(byLastWord, lastTok(r), id));
  const alike = names.map((r) => byLastWord.get(lastTok(r))!.filter((j) => sameResource(names[j]!, r)));

  // Distance rows are BFS results computed on first use: a full table for ordinary
  // catalogs (n*n bytes, 1 MB at 1,000 endpoints), a bounded cache above that.
  const fullRows: (Uint8Array | undefined)[] = n <= FULL_TABLE_LIMIT ? new Array(n) : [];
  const rowCache = new Map<number, Uint8Array>();
  const rowOf = (from: number): Uint8Array => {
    const cached = n <= FULL_TABLE_LIMIT ? fullRows[from] : rowCache.get(from);
    if (cached) return cached;
    const row = new Uint8Array(n).fill(UNREACHED);
    row[from] = 0;
    let frontier = [from];
    for (let d = 1; d <= MAX_HOPS && frontier.length > 0; d++) {
      const next: number[] = [];
      for (const a of frontier) for (const b of succ[a]!) if (row[b] === UNREACHED) ((row[b] = d), next.push(b));
      frontier = next;
    }
    if (n <= FULL_TABLE_LIMIT) fullRows[from] = row;
    else {
      if (rowCache.size >= ROW_CACHE_LIMIT) rowCache.clear();
      rowCache.set(from, row);
    }
    return row;
  };

  return {
    facts,
    producersOf: (r) => union(producers, r),
    consumersOf: (r) => union(consumers, r),
    satisfiable(idx, known) {
      const needs = facts[idx]?.paramResources ?? [];
      if (needs.length === 0) return 1;
      if (known.size === 0) return 0; // the common first call; asked for every endpoint
      let ok = 0;
      for (const p of needs) {
        if (known.has(p)) ok++;
        else {
          for (const k of known) {
            if (sameResource(k, p)) {
              ok++;
              break;
            }
          }
        }
      }
      return Math.min(1, ok / needs.length);
    },
    resourceCount: names.length,
    paramIds,
    producedIds,
    mainIds,
    knownFlags(known) {
      const exact = new Uint8Array(names.length);
      const covered = new Uint8Array(names.length);
      for (const k of known) {
        const id = ids.get(k);
        if (id !== undefined) {
          exact[id] = 1;
          for (const j of alike[id]!) covered[j] = 1;
        } else {
          // A name no endpoint mentions can still be a qualified form of one.
          names.forEach((r, j) => {
            if (sameResource(k, r)) covered[j] = 1;
          });
        }
      }
      return { exact, covered };
    },
    satisfiableFlags(idx, flags) {
      const needs = paramIds[idx];
      if (!needs || needs.length === 0) return 1;
      let ok = 0;
      for (let j = 0; j < needs.length; j++) ok += flags.covered[needs[j]!]!;
      return Math.min(1, ok / needs.length);
    },
    distance(from, to) {
      if (from < 0 || to < 0 || from >= n || to >= n) return Infinity;
      const d = rowOf(from)[to]!;
      return d === UNREACHED ? Infinity : d;
    },
    successors: (i) => succ[i] ?? [],
  };
}
