/**
 * Synthetic workflows for training the ranker: Markov walks over each catalog's resource
 * graph, shaped like the sequences real clients make (browse a collection and drill in,
 * search then open a result, create then edit, follow an id from one response into the
 * next call), with concrete paths, consistent ids and natural-language prompts.
 *
 *   list R ──▶ read R/{id} ──▶ list R/{id}/S ──▶ update R/{id}/S/{sid}     collection-drilldown
 *   search R ──▶ read R/{id} | R/{id}/S                                    search-detail
 *   create R ──▶ read R/{id} ──▶ update R/{id}                             create-read-update
 *   read A (has b_id) ──▶ read B/{b_id} ──▶ ...                            id-chain
 *   one or two calls with a goal                                           short
 *   steps along any dependency edge                                        random-walk
 *
 * Deterministic: the same catalogs and seed give the same workflows.
 */
import type { Catalog, Endpoint } from '../engine/types';
import { buildResourceGraph, sameResource, type EndpointFacts, type ResourceGraph } from '../engine/resource-graph';
import { tokenize } from '../engine/tokenizer';
import { entity as makeEntity, hexToken, isoDate, numericId, prefixedId, Rng, shortCode, slug, titleName, uuid, type Entity, type EntityKind } from './names';
import { renderGoalPrompt, renderStepPrompt, type PromptStep } from './prompt-templates';

export type WorkflowPattern = 'collection-drilldown' | 'search-detail' | 'create-read-update' | 'id-chain' | 'short' | 'random-walk';
export const WORKFLOW_PATTERNS: readonly WorkflowPattern[] = ['collection-drilldown', 'search-detail', 'create-read-update', 'id-chain', 'short', 'random-walk'];

export interface WorkflowStep {
  /** Endpoint.id, "METHOD /template". */
  endpoint: string;
  /** Concrete path with parameter values filled in: "/users/8412/orders/77". */
  path: string;
  /** Path parameter values by name. */
  params: Record<string, string>;
  /** Query values a client would send (a search term), when the step has them. */
  query?: Record<string, string>;
  /** Ids this step's response hands to later steps, by resource. */
  produced?: Record<string, string>;
  /** A prompt written from this step's own summary. */
  prompt: string;
}

export interface Workflow {
  specId: string;
  /** A WorkflowPattern for generated workflows; other sources (logged feedback) may use their own names. */
  pattern: string;
  /** What the whole workflow achieves; the same prompt for every step. */
  goal: string;
  steps: WorkflowStep[];
}

export interface GenerateOptions {
  /** Number of workflows (default 10,000). */
  count?: number;
  /** Seed of every random choice. */
  seed: number;
  /** Called as workflows are produced (about 100 times per run and once at the end). */
  onProgress?: (done: number, total: number) => void;
  /** Relative weight of each pattern; missing ones keep their defaults. */
  patternWeights?: Partial<Record<WorkflowPattern, number>>;
  /** Catalogs are drawn in proportion to min(endpoint count, this) so huge specs don't dominate (default 120). */
  catalogWeightCap?: number;
  /** Extra weight of catalogs that have a search endpoint (default 3). */
  lookupBoost?: number;
}

export const DEFAULT_PATTERN_WEIGHTS: Readonly<Record<WorkflowPattern, number>> = Object.freeze({
  'collection-drilldown': 0.17,
  'search-detail': 0.27,
  'create-read-update': 0.12,
  'id-chain': 0.17,
  short: 0.15,
  'random-walk': 0.12,
});

const QUERY_NAMES = new Set(['q', 'query', 'search', 'term', 'keyword', 'keywords', 'text', 'name', 'title', 'search_term', 'search_query']);

// ---- per-catalog plan --------------------------------------------------------------------

interface Plan {
  catalog: Catalog;
  graph: ResourceGraph;
  facts: EndpointFacts[];
  norm: string[];
  byPath: Map<string, number[]>;
  /** Endpoints one static segment below a path, by the parent's normalised path. */
  childPaths: Map<string, string[]>;
  starts: Record<WorkflowPattern, number[]>;
}

function normPath(p: string): string {
  return p.split('?')[0]!.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '').toLowerCase() || '/';
}

function buildPlan(catalog: Catalog): Plan {
  const graph = buildResourceGraph(catalog);
  const facts = graph.facts;
  const eps = catalog.endpoints;
  const norm = eps.map((e) => normPath(e.path));
  const byPath = new Map<string, number[]>();
  const childPaths = new Map<string, string[]>();
  norm.forEach((p, i) => {
    if (!byPath.has(p)) {
      byPath.set(p, []);
      const cut = p.lastIndexOf('/');
      const parent = p.slice(0, cut) || '/';
      if (cut > 0 && p.slice(cut + 1) !== '{}') {
        if (!childPaths.has(parent)) childPaths.set(parent, []);
        childPaths.get(parent)!.push(p);
      }
    }
    byPath.get(p)!.push(i);
  });
  const plan: Plan = { catalog, graph, facts, norm, byPath, childPaths, starts: {} as Plan['starts'] };
  const all = eps.map((_, i) => i);
  const isGet = (i: number): boolean => eps[i]!.method === 'GET';
  plan.starts['collection-drilldown'] = all.filter((i) => isGet(i) && facts[i]!.kind === 'list' && itemReads(plan, i).length > 0 && itemReads(plan, i).some((r) => subs(plan, r).length + mutations(plan, norm[r]!).length > 0));
  plan.starts['search-detail'] = all.filter((i) => isGet(i) && (facts[i]!.kind === 'search' || facts[i]!.kind === 'list') && detailsOf(plan, i, true).length > 0);
  plan.starts['create-read-update'] = all.filter((i) => facts[i]!.kind === 'create' && (byPath.get(norm[i] + '/{}') ?? []).some((j) => eps[j]!.method !== 'DELETE'));
  plan.starts['id-chain'] = all.filter((i) => facts[i]!.kind !== 'delete' && facts[i]!.kind !== 'auth' && chainNext(plan, [i], false).length > 0);
  plan.starts.short = all.filter((i) => facts[i]!.kind !== 'auth');
  plan.starts['random-walk'] = all.filter((i) => graph.successors(i).length > 0);
  if (plan.starts.short.length === 0) plan.starts.short = all;
  return plan;
}

function itemReads(plan: Plan, list: number): number[] {
  return (plan.byPath.get(plan.norm[list] + '/{}') ?? []).filter((j) => plan.catalog.endpoints[j]!.method === 'GET');
}

function subs(plan: Plan, item: number): number[] {
  const out: number[] = [];
  for (const p of plan.childPaths.get(plan.norm[item]!) ?? []) for (const j of plan.byPath.get(p)!) if (plan.catalog.endpoints[j]!.method === 'GET') out.push(j);
  return out;
}

function mutations(plan: Plan, path: string): number[] {
  const out: number[] = [];
  for (const p of [path, path + '/{}']) {
    for (const j of plan.byPath.get(p) ?? []) {
      const k = plan.facts[j]!.kind;
      if (k === 'update' || k === 'delete' || k === 'action' || (k === 'create' && p === path)) out.push(j);
    }
  }
  return out;
}

function knownAfter(plan: Plan, seq: number[]): Set<string> {
  const known = new Set<string>();
  for (const i of seq) {
    for (const r of plan.facts[i]!.producesIds) known.add(r);
    for (const r of plan.facts[i]!.paramResources) known.add(r);
  }
  return known;
}

/** GET endpoints that open one of the records `start` returned, needing nothing else. */
function detailsOf(plan: Plan, start: number, firstOnly: boolean): number[] {
  const known = knownAfter(plan, [start]);
  const out = new Set<number>();
  const own = plan.facts[start]!.resource;
  for (const r of plan.facts[start]!.producesIds) {
    if (!sameResource(r, own)) continue;
    for (const c of plan.graph.consumersOf(r)) {
      if (c === start || plan.catalog.endpoints[c]!.method !== 'GET' || plan.graph.satisfiable(c, known) < 1) continue;
      const f = plan.facts[c]!;
      if (!f.paramResources.some((p) => sameResource(p, r))) continue;
      out.add(c);
      if (firstOnly) return [c];
    }
  }
  return [...out];
}

/** Next hops of an id chain: consumers of ids the last step produced, satisfiable by now. */
function chainNext(plan: Plan, seq: number[], wantMany: boolean): number[] {
  const cur = seq[seq.length - 1]!;
  const known = knownAfter(plan, seq);
  const out: number[] = [];
  for (const r of plan.facts[cur]!.producesIds) {
    for (const c of plan.graph.consumersOf(r)) {
      if (seq.includes(c) || out.includes(c) || plan.facts[c]!.kind === 'auth' || plan.graph.satisfiable(c, known) < 1) continue;
      // A hop that only re-reads the same path with another method is a drill-down, not a chain.
      if (plan.norm[c] === plan.norm[cur]) continue;
      out.push(c);
      if (!wantMany) return out;
    }
  }
  return out;
}

// ---- pattern builders: each returns endpoint indices and whether the user names an entity --

interface Shape {
  seq: number[];
  /** Step whose resource the named entity is (undefined: no entity in the prompt). */
  entityStep?: number;
}

function preferGet(plan: Plan, list: number[], rng: Rng, p = 0.8): number {
  const gets = list.filter((i) => plan.catalog.endpoints[i]!.method === 'GET');
  return gets.length && rng.chance(p) ? rng.pick(gets) : rng.pick(list);
}

/**
 * A first step the user can call without ids they don't have: real workflows start from
 * a list, a search or a create. Starts that need path parameters are kept for a minority
 * of workflows (the prompt then names the id), since users do sometimes paste one.
 */
function pickStart(plan: Plan, list: number[], rng: Rng, pFree = 0.85): number {
  const free = list.filter((i) => plan.facts[i]!.pathParams.length === 0);
  let pool = free.length && rng.chance(pFree) ? free : list;
  // People are what users ask about most (a customer, an author, a colleague): where the
  // API has people-like resources, a share of workflows starts from them.
  const people = pool.filter((i) => plan.facts[i]!.personish);
  if (people.length && people.length < pool.length && rng.chance(PEOPLE_START_SHARE)) pool = people;
  return preferGet(plan, pool, rng);
}
const PEOPLE_START_SHARE = 0.4;

/**
 * When the user names a thing and the API can search for that resource, the lookup is
 * the search, not a plain listing of everything.
 */
function searchFor(plan: Plan, start: number, qualifiedToo = false): number | undefined {
  const f = plan.facts[start]!;
  if (f.kind !== 'list' || (f.qualifier && !qualifiedToo)) return undefined;
  const found = plan.starts['search-detail'].filter((i) => plan.facts[i]!.kind === 'search' && plan.facts[i]!.resource === f.resource && i !== start);
  return found[0];
}

/** A workflow that names the thing it starts from begins with the search for it, when the API has one (mostly). */
function namedStart(plan: Plan, shape: Shape, rng: Rng): Shape {
  if (shape.entityStep !== 0) return shape;
  // "the most popular X" is no way to find the X called "...": a named thing is searched for.
  const search = searchFor(plan, shape.seq[0]!, true);
  if (search !== undefined && !shape.seq.includes(search) && rng.chance(0.85)) shape.seq[0] = search;
  return shape;
}

const SUB_AFTER_LOOKUP = 0.5;

const BUILDERS: Record<WorkflowPattern, (plan: Plan, rng: Rng) => Shape | undefined> = {
  'collection-drilldown'(plan, rng) {
    const list = pickStart(plan, plan.starts['collection-drilldown'], rng);
    const items = itemReads(plan, list).filter((r) => subs(plan, r).length + mutations(plan, plan.norm[r]!).length > 0);
    if (items.length === 0) return undefined;
    const item = rng.pick(items);
    const seq = [list, item];
    const sub = subs(plan, item);
    if (sub.length && rng.chance(0.75)) seq.push(rng.pick(sub));
    const tail = seq.length === 3 ? mutations(plan, plan.norm[seq[2]!]!) : [];
    const muts = tail.length ? tail : mutations(plan, plan.norm[item]!);
    if (muts.length && (seq.length < 3 || rng.chance(0.6))) seq.push(rng.pick(muts));
    if (seq.length < 3) return undefined;
    // Users and agents take the shortest path to what they asked for: most of the time
    // the sub-resource is read straight from the id the listing returned, without first
    // reading the item itself.
    if (seq.length >= 3 && seq[2] !== undefined && plan.facts[seq[2]!]!.kind !== 'update' && plan.facts[seq[2]!]!.kind !== 'delete' && rng.chance(0.65)) {
      seq.splice(1, 1);
      return namedStart(plan, { seq, entityStep: rng.chance(0.75) ? 0 : undefined }, rng);
    }
    return { seq, entityStep: rng.chance(0.75) ? 1 : undefined };
  },
  'search-detail'(plan, rng) {
    let start = pickStart(plan, plan.starts['search-detail'], rng);
    let f = plan.facts[start]!;
    const named = f.kind === 'search' || (!f.qualifier && rng.chance(0.5));
    const search = named ? searchFor(plan, start) : undefined;
    if (search !== undefined) {
      start = search;
      f = plan.facts[start]!;
    }
    const details = detailsOf(plan, start, false);
    if (details.length === 0) return undefined;
    const seq = [start, preferGet(plan, details, rng, 1)];
    const deeper = subs(plan, seq[1]!).filter((j) => plan.graph.satisfiable(j, knownAfter(plan, seq)) === 1);
    // What users ask about a thing they found is as often one of its sub-resources (its
    // reviews, its members) as the record itself; they go there straight from the id.
    if (deeper.length && rng.chance(SUB_AFTER_LOOKUP)) seq[1] = rng.pick(deeper);
    else if (deeper.length && rng.chance(0.25)) seq.push(rng.pick(deeper));
    return { seq, entityStep: named ? 0 : undefined };
  },
  'create-read-update'(plan, rng) {
    const create = rng.pick(plan.starts['create-read-update']);
    const item = plan.byPath.get(plan.norm[create] + '/{}') ?? [];
    const reads = item.filter((j) => plan.catalog.endpoints[j]!.method === 'GET');
    const updates = item.filter((j) => ['update', 'action'].includes(plan.facts[j]!.kind));
    const deletes = item.filter((j) => plan.facts[j]!.kind === 'delete');
    const seq = [create];
    if (reads.length && (rng.chance(0.8) || updates.length === 0)) seq.push(rng.pick(reads));
    if (updates.length) seq.push(rng.pick(updates));
    if (deletes.length && rng.chance(0.2)) seq.push(rng.pick(deletes));
    return seq.length >= 2 ? { seq, entityStep: rng.chance(0.6) ? 0 : undefined } : undefined;
  },
  'id-chain'(plan, rng) {
    const seq = [pickStart(plan, plan.starts['id-chain'], rng)];
    const target = rng.int(2, 4);
    while (seq.length < target) {
      const next = chainNext(plan, seq, true);
      if (next.length === 0) break;
      // Prefer hops that leave the current path (a read whose response names another resource).
      const cross = next.filter((c) => !plan.norm[c]!.startsWith(plan.norm[seq[seq.length - 1]!]!));
      seq.push(preferGet(plan, cross.length && rng.chance(0.7) ? cross : next, rng));
    }
    return seq.length >= 2 ? namedStart(plan, { seq, entityStep: rng.chance(0.7) ? 0 : undefined }, rng) : undefined;
  },
  short(plan, rng) {
    const reads = plan.starts.short.filter((i) => ['list', 'search', 'read'].includes(plan.facts[i]!.kind));
    const first = reads.length && rng.chance(0.85) ? pickStart(plan, reads, rng, 0.7) : rng.pick(plan.starts.short);
    const seq = [first];
    const next = plan.graph.successors(first).filter((j) => plan.catalog.endpoints[j]!.method === 'GET');
    if (next.length && rng.chance(0.35)) seq.push(rng.pick(next));
    const k = plan.facts[first]!.kind;
    const named = k === 'search' || (k !== 'list' && (plan.facts[first]!.pathParams.length > 0 || rng.chance(0.3))) || (seq.length > 1 && rng.chance(0.5));
    return namedStart(plan, { seq, entityStep: named ? 0 : undefined }, rng);
  },
  'random-walk'(plan, rng) {
    const seq = [pickStart(plan, plan.starts['random-walk'], rng)];
    const target = rng.int(2, 5);
    while (seq.length < target) {
      const next = plan.graph.successors(seq[seq.length - 1]!).filter((j) => !seq.includes(j));
      if (next.length === 0) break;
      seq.push(preferGet(plan, next, rng, 0.6));
    }
    return seq.length >= 2 ? { seq, entityStep: rng.chance(0.5) ? 0 : undefined } : undefined;
  },
};

// ---- values --------------------------------------------------------------------------------

const leafCache = new WeakMap<Endpoint, Set<string>>();

/** What kind of name a resource's records carry, judged from its response fields. */
function entityKindFor(e: Endpoint, personish: boolean, rng: Rng): EntityKind {
  // Records of a people-like resource are looked up by people's names.
  if (personish) return rng.chance(0.85) ? 'person' : rng.pick<EntityKind>(['title', 'code']);
  let leaves = leafCache.get(e);
  if (!leaves) leafCache.set(e, (leaves = new Set(e.responseFields.map((f) => tokenize(f.split('.').pop()!).join('_')))));
  const has = (...names: string[]): boolean => names.some((n) => leaves.has(n));
  if (has('title', 'headline', 'subject')) return rng.chance(0.8) ? 'title' : 'code';
  if (has('price', 'sku', 'brand')) return 'product';
  if (has('domain', 'domains', 'website', 'industry')) return 'org';
  // Other records are named by titles, organisations, products and codes.
  return rng.pick<EntityKind>(['title', 'title', 'org', 'product', 'code', 'number']);
}

function newValue(e: Endpoint, name: string, resource: string, rng: Rng, named?: Entity): string {
  const toks = tokenize(name);
  const type = e.parameters.find((p) => p.in === 'path' && p.name === name)?.type;
  const has = (...w: string[]): boolean => toks.some((t) => w.includes(t));
  if (has('year')) return String(rng.int(1970, 2026));
  if (has('date', 'day')) return isoDate(rng);
  if (type === 'integer' || type === 'number') return has('number', 'num', 'no', 'index', 'position', 'page') ? String(rng.int(1, 12)) : numericId(rng);
  if (has('uuid', 'guid')) return uuid(rng);
  if (has('slug', 'handle', 'username', 'login', 'name')) return slug(named?.value ?? titleName(rng));
  if (has('code', 'sku')) return shortCode(rng);
  if (has('token', 'key', 'secret', 'hash')) return hexToken(rng, rng.pick([16, 24, 32]));
  if (has('number', 'num')) return String(rng.int(1, 12));
  const r = rng.next();
  if (r < 0.55) return numericId(rng);
  if (r < 0.75) return uuid(rng);
  if (r < 0.9) return prefixedId(rng, resource);
  return slug(titleName(rng));
}

class Values {
  private byName = new Map<string, string>();
  private byResource = new Map<string, string>();
  /** Path values of one step; only a parameter of `namedResource` may carry the named entity's slug. */
  fill(e: Endpoint, f: EndpointFacts, rng: Rng, named: Entity | undefined, namedResource: string | undefined): Record<string, string> {
    const params: Record<string, string> = {};
    const usedHere = new Set<string>();
    f.pathParams.forEach((name, i) => {
      const r = f.paramResources[i]!;
      // Keyed by resource too: "{id}" of /users/{id} and of /orders/{id} are different ids.
      const key = `${r}|${name.toLowerCase()}`;
      let v = this.byName.get(key);
      if (v === undefined && !usedHere.has(r)) {
        for (const [k, val] of this.byResource) if (sameResource(k, r)) v = val;
      }
      v ??= newValue(e, name, r, rng, namedResource !== undefined && sameResource(r, namedResource) ? named : undefined);
      this.byName.set(key, v);
      this.byResource.set(r, v);
      usedHere.add(r);
      params[name] = v;
    });
    return params;
  }
}

function concretePath(template: string, params: Record<string, string>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(params[n] ?? n));
}

function searchQuery(e: Endpoint, named: Entity | undefined): Record<string, string> | undefined {
  if (!named) return undefined;
  const q = e.parameters.find((p) => p.in === 'query' && QUERY_NAMES.has(tokenize(p.name).join('_')));
  return q ? { [q.name]: named.value } : undefined;
}

// ---- main ------------------------------------------------------------------------------------

function buildWorkflow(plan: Plan, pattern: WorkflowPattern, shape: Shape, rng: Rng): Workflow {
  const eps = plan.catalog.endpoints;
  const promptSteps: PromptStep[] = shape.seq.map((i) => ({ endpoint: eps[i]!, facts: plan.facts[i]! }));
  let named: Entity | undefined;
  // A workflow that starts by looking up people usually names the person.
  const first = plan.facts[shape.seq[0]!]!;
  if (shape.entityStep === undefined && first.personish && (first.kind === 'search' || first.kind === 'list') && shape.seq.length > 1 && rng.chance(0.6)) shape.entityStep = 0;
  if (shape.entityStep !== undefined) {
    const at = shape.seq[shape.entityStep]!;
    // Name records the way their detail view describes them (the step after a list/search).
    const describing = shape.seq[shape.entityStep + 1] ?? at;
    let kind = entityKindFor(eps[describing]!.responseFields.length ? eps[describing]! : eps[at]!, plan.facts[at]!.personish, rng);
    // People search by names and titles far more often than by codes.
    if ((kind === 'code' || kind === 'number') && plan.facts[at]!.kind === 'search' && rng.chance(0.8)) kind = 'title';
    named = makeEntity(rng, kind);
  }
  let entityResource: string | undefined;
  let own = true;
  if (shape.entityStep !== undefined) {
    const f = plan.facts[shape.seq[shape.entityStep]!]!;
    own = f.kind === 'search' || f.kind === 'list' || f.kind === 'create' || f.paramResources.length === 0;
    entityResource = own ? f.resource : f.paramResources[f.paramResources.length - 1];
  }
  const values = new Values();
  const steps: WorkflowStep[] = shape.seq.map((i, k) => {
    const e = eps[i]!;
    const f = plan.facts[i]!;
    const params = values.fill(e, f, rng, named, entityResource);
    const query = f.kind === 'search' || (k === 0 && f.kind === 'list') ? searchQuery(e, named) : undefined;
    // Enum path parameters are the client's pick, not ids: a value goes into the path only.
    const choices = Object.fromEntries(f.choiceParams.map((c) => [c.name, rng.pick(c.values)]));
    const step: WorkflowStep = { endpoint: e.id, path: concretePath(e.path, { ...choices, ...params }), params, prompt: '' };
    if (query) step.query = query;
    return step;
  });
  if (shape.entityStep !== undefined && !own) {
    // Users also name a record by the id they already hold ("ticket 4821").
    const f = plan.facts[shape.seq[shape.entityStep]!]!;
    const held = steps[shape.entityStep]!.params[f.pathParams[f.pathParams.length - 1]!];
    if (held && rng.chance(pattern === 'short' ? 0.5 : 0.15)) named = { kind: 'code', text: /^\d+$/.test(held) && rng.chance(0.3) ? `#${held}` : held, value: held };
  }
  steps.forEach((step, k) => {
    step.prompt = renderStepPrompt(promptSteps[k]!, { entity: named, params: step.params }, rng);
  });
  // Record which earlier step handed each id to a later one.
  shape.seq.forEach((j, k) => {
    plan.facts[j]!.pathParams.forEach((name, p) => {
      const r = plan.facts[j]!.paramResources[p]!;
      const v = steps[k]!.params[name]!;
      for (let i = k - 1; i >= 0; i--) {
        if (Object.values(steps[i]!.params).includes(v)) break;
        if (plan.facts[shape.seq[i]!]!.producesIds.some((x) => sameResource(x, r))) {
          (steps[i]!.produced ??= {})[r] = v;
          break;
        }
      }
    });
  });
  const goal = renderGoalPrompt({ pattern, steps: promptSteps, entity: named, entityResource }, rng);
  return { specId: plan.catalog.specId, pattern, goal, steps };
}

export function generateWorkflows(catalogs: Catalog[], opts: GenerateOptions): Workflow[] {
  const count = opts.count ?? 10_000;
  const rng = new Rng(opts.seed);
  const usable = catalogs.filter((c) => c.endpoints.length > 0);
  if (usable.length === 0 || count <= 0) return [];
  const cap = opts.catalogWeightCap ?? 120;
  const plans: (Plan | undefined)[] = usable.map((c) => buildPlan(c));
  // APIs that can look things up by name (a search endpoint) teach the most common shape
  // of a real request — find the thing, then act on it — and they are a minority of
  // published specs, so they are drawn more often.
  const lookupBoost = opts.lookupBoost ?? 3;
  const catalogWeights = usable.map((c, i) => Math.min(c.endpoints.length, cap) * (plans[i]!.facts.some((f) => f.kind === 'search') ? lookupBoost : 1));
  const patternWeights = WORKFLOW_PATTERNS.map((p) => opts.patternWeights?.[p] ?? DEFAULT_PATTERN_WEIGHTS[p]);
  const out: Workflow[] = [];
  const every = Math.max(1, Math.floor(count / 100));
  while (out.length < count) {
    const ci = rng.weighted(catalogWeights);
    const plan = (plans[ci] ??= buildPlan(usable[ci]!));
    let wf: Workflow | undefined;
    for (let attempt = 0; attempt < 4 && !wf; attempt++) {
      const weights = WORKFLOW_PATTERNS.map((p, i) => (plan.starts[p].length > 0 ? patternWeights[i]! : 0));
      const pi = rng.weighted(weights);
      const pattern = pi < 0 ? 'short' : WORKFLOW_PATTERNS[pi]!;
      const shape = BUILDERS[pattern](plan, rng);
      if (shape) wf = buildWorkflow(plan, pattern, shape, rng);
    }
    wf ??= buildWorkflow(plan, 'short', BUILDERS.short(plan, rng)!, rng);
    out.push(wf);
    if (opts.onProgress && (out.length % every === 0 || out.length === count)) opts.onProgress(out.length, count);
  }
  return out;
}
