/**
 * Natural-language prompts for synthetic workflows.
 *
 * The goal prompt says what the WHOLE workflow is for, the way users actually write: the
 * thing they want at the end ("the reviews of ...") plus the entity they start from
 * ("... the product Aero Pro"), and it stays the same for every step. Every content word
 * comes from the endpoints' own text (summary, description, operationId, tags, path nouns,
 * response field names) or from the entity generator; the templates only add English
 * glue ("show me", "what are", "how many"), so nothing here is tied to one API's domain.
 */
import type { Endpoint } from '../engine/types';
import type { EndpointFacts } from '../engine/resource-graph';
import { tokenize } from '../engine/tokenizer';
import { personGroups, RECORD_CONTAINERS } from '../engine/people';
import { countedNoun } from '../engine/prepared-catalog';
import type { Entity, Rng } from './names';

export interface PromptStep {
  endpoint: Endpoint;
  facts: EndpointFacts;
}

export interface GoalContext {
  /** Workflow pattern name; picks the template family. */
  pattern: string;
  steps: PromptStep[];
  /** What the first step looks up or creates; absent for a ranked list or a bare listing. */
  entity?: Entity;
  /** Resource the entity is an instance of (default: the first step's resource). */
  entityResource?: string;
}

export interface StepContext {
  entity?: Entity;
  /** Path parameter values of this step. */
  params?: Record<string, string>;
}

// ---- words from the endpoint's own text --------------------------------------------------

const PLURAL_IRREGULAR: Record<string, string> = { person: 'people', child: 'children', man: 'men', woman: 'women', mouse: 'mice', index: 'indexes', analysis: 'analyses', criterion: 'criteria' };
const NO_PLURAL = new Set(['data', 'media', 'metadata', 'info', 'information', 'series', 'species', 'news', 'analytics', 'settings', 'content', 'feedback', 'inventory', 'software', 'equipment', 'staff']);
const VERB_BASE: Record<string, string> = { gets: 'get', returns: 'get', return: 'get', retrieves: 'retrieve', lists: 'list', fetches: 'fetch', creates: 'create', updates: 'update', deletes: 'delete', removes: 'remove', adds: 'add', searches: 'search', finds: 'find', shows: 'show', provides: 'get', queries: 'query' };
const PREPOSITIONS = new Set(['for', 'of', 'in', 'on', 'from', 'by', 'to', 'within', 'belonging', 'associated', 'with', 'that', 'which', 'under', 'at', 'about', 'across', 'using', 'who', 'whose', 'where', 'when', 'into', 'between', 'per', 'as', 'and', 'or']);
const DETERMINERS = new Set(['a', 'an', 'the', 'this', 'that', 'one', 'some', 'all', 'each', 'every', 'any', 'given', 'specific', 'particular', 'single', 'existing', 'certain', 'your', 'my', 'our', 'list']);
const NO_MOST = new Set(['latest', 'top', 'best', 'newest', 'oldest', 'hottest', 'highest', 'lowest', 'next', 'previous', 'last', 'first', 'upcoming', 'now', 'today', 'current', 'new', 'random', 'most', 'starred', 'similar', 'related', 'default', 'daily', 'weekly', 'monthly', 'expired', 'open', 'closed', 'pending', 'archived', 'active', 'public']);

/** Imperative lead verbs; each must read well after "can you". */
const LEAD: Record<string, string[]> = {
  get: ['get', 'show me', 'fetch', 'look up', 'pull up', 'give me', 'retrieve', 'display', 'find'],
  list: ['list', 'show me', 'give me', 'display', 'get', 'pull up'],
  search: ['search for', 'find', 'look for', 'look up'],
  create: ['create', 'add', 'make', 'set up', 'register'],
  update: ['update', 'change', 'edit', 'modify'],
  delete: ['delete', 'remove', 'get rid of', 'drop'],
};

export function pluralize(phrase: string): string {
  const words = phrase.split(' ');
  const w = words[words.length - 1]!;
  let p: string;
  if (PLURAL_IRREGULAR[w]) p = PLURAL_IRREGULAR[w]!;
  else if (NO_PLURAL.has(w) || /s$/.test(w) && /(ss|us|is)$/.test(w) === false) p = w;
  else if (/[^aeiou]y$/.test(w)) p = w.slice(0, -1) + 'ies';
  else if (/(s|x|z|ch|sh)$/.test(w)) p = w + 'es';
  else p = w + 's';
  words[words.length - 1] = p;
  return words.join(' ');
}

/** "order_item" -> "order item". */
export function humanize(name: string): string {
  return tokenize(name).join(' ');
}

/** Summaries that say nothing about the operation. */
const PLACEHOLDER = /^\s*(no documentation( found)?|undocumented|todo|tbd|n\/?a|none|-+)\.?\s*$/i;
/** Preambles in front of the real request: "Allows you to list images" -> "list images". */
const PREAMBLE = /^(now\s+)?(you can\s+)?(use this (endpoint|method|api|operation) to|this (endpoint|method|operation) (lets you|allows you to)|allows? (you|users|the user|clients)? ?to|lets you|is used to|used to|attempts? to|tries to|helps? (you )?to|enables? (you )?to)\s+/i;
const TRAILING_STOP = new Set(['for', 'the', 'of', 'a', 'an', 'and', 'to', 'in', 'on', 'with', 'by', 'from', 'or', 'at', 'as', 'that', 'which', 'your', 'its']);

/** Text derived once per endpoint: prompts are rendered tens of thousands of times per run. */
interface EndpointText {
  summaryClause: string;
  /** From the description's first sentence, when it is short enough to be a request. */
  descClause?: string;
  core: string;
  rootLeaves: string[];
  personish: boolean;
  /** Name of the response array that lists people ("authors"), when there is one. */
  whoNoun?: string;
  /** What the record counts, from its count fields ("number_of_seats" -> "seats"). */
  counts: string[];
  pathWords: Set<string>;
}
const textCache = new WeakMap<Endpoint, EndpointText>();

function textOf(e: Endpoint): EndpointText {
  let t = textCache.get(e);
  if (t) return t;
  const desc = PLACEHOLDER.test(e.description) ? '' : firstSentence(e.description);
  const summary = PLACEHOLDER.test(e.summary) ? '' : e.summary;
  const summaryClause = toClause(summary || (desc.split(' ').length <= 18 ? desc : '') || tokenize(e.operationId).join(' '), e);
  const descClause = summary && desc && desc.split(' ').length <= 18 ? toClause(desc, e) : undefined;
  const who = personGroup(e.responseFields);
  const rootLeaves = leafNames(scalarFields(e.responseFields), true);
  t = {
    summaryClause,
    descClause,
    core: objectCore(summaryClause),
    rootLeaves,
    counts: countsOf(rootLeaves),
    personish: who !== undefined,
    whoNoun: who || undefined,
    pathWords: new Set(tokenize(e.path)),
  };
  textCache.set(e, t);
  return t;
}

/** The endpoint's own one-line description as an imperative clause, lower-cased: "get the reviews of a product". */
export function clauseOf(e: Endpoint, rng?: Rng): string {
  const t = textOf(e);
  return t.descClause && rng && rng.chance(0.2) ? t.descClause : t.summaryClause;
}

function toClause(raw: string, e: Endpoint): string {
  let text = raw;
  if (!text) text = `${e.method.toLowerCase()} ${tokenize(e.path).join(' ')}`;
  text = text.replace(/\([^)]*\)/g, ' ').replace(/[`*_]+/g, ' ').replace(/^(this|the)\s+(endpoint|method|operation|api|call|route)\s+(will\s+)?/i, '').replace(PREAMBLE, '');
  text = text.split(/(?<=[a-z0-9])[.;:!?](\s|$)|\s[-–—]\s/)[0] ?? text;
  let words = text.replace(/\s+/g, ' ').trim().split(' ').slice(0, 14);
  // Title Case summaries ("Get Show Episodes") read as names to the entity detector; a
  // user would write them in lower case. Acronyms ("API", "DNS") stay as they are.
  const titled = words.filter((w) => /^[A-Z][a-z]/.test(w)).length;
  if (titled >= 2 && titled * 2 >= words.length) words = words.map((w) => (/^[A-Z][a-z]+$/.test(w) ? w.toLowerCase() : w));
  // "Get the images for a series by id": the id is implied by the call.
  while (words.length > 3 && /^(id|ids|identifier|uuid)[.,;:]*$/i.test(words[words.length - 1]!) && /^(by|its|their|the)$/i.test(words[words.length - 2]!)) {
    words.pop();
    words.pop();
    if (/^by$/i.test(words[words.length - 1]!)) words.pop();
  }
  // A clause cut mid-phrase should not end on "for the".
  while (words.length > 2 && TRAILING_STOP.has(words[words.length - 1]!.toLowerCase())) words.pop();
  if (words.length === 0 || !words[0]) return humanize(e.operationId) || e.path;
  const first = words[0]!.toLowerCase();
  if (VERB_BASE[first]) words[0] = VERB_BASE[first]!;
  else if (/^[a-z]{2,}s$/.test(first) && !/(ss|us|is)$/.test(first) && words[1] && (DETERMINERS.has(words[1].toLowerCase()) || /'s$/.test(words[1]))) words[0] = verbBase(first);
  else if (!/^[A-Z0-9]{2,}$/.test(words[0]!)) words[0] = first;
  let clause = words.join(' ');
  // Long descriptions: keep the main clause only.
  if (words.length > 7 && clause.indexOf(',') > 10) clause = clause.slice(0, clause.indexOf(','));
  return clause.replace(/[.,;:]+$/, '');
}

/** "selects" -> "select", "applies" -> "apply", "searches" -> "search". */
function verbBase(w: string): string {
  if (w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (/(ches|shes|sses|xes|zes)$/.test(w)) return w.slice(0, -2);
  return w.slice(0, -1);
}

function firstSentence(text: string): string {
  const plain = text.replace(/<[^>]+>/g, ' ').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\s+/g, ' ').trim();
  const m = /^(.+?[a-z0-9)])[.!?](\s|$)/.exec(plain);
  return (m ? m[1]! : plain).trim();
}

/** The object of a clause without verb, determiners or trailing qualifiers: "get the reviews of a product" -> "reviews". */
export function objectCore(clause: string): string {
  const words = clause.split(' ');
  // "rename or describe a team": skip the second verb too.
  let i = words[1] === 'or' || words[1] === 'and' ? 3 : 1;
  const out: string[] = [];
  while (i < words.length && DETERMINERS.has(words[i]!.toLowerCase())) i++;
  if (words[i]?.toLowerCase() === 'of' || words[i]?.toLowerCase() === 'all') i++;
  while (i < words.length && DETERMINERS.has(words[i]!.toLowerCase())) i++;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (PREPOSITIONS.has(w.toLowerCase())) break;
    out.push(w.replace(/'s$/, "'s"));
  }
  // "a ticket's comments" -> "comments"
  const pos = out.findIndex((w) => /'s$/.test(w));
  const core = pos >= 0 ? out.slice(pos + 1) : out;
  return core.join(' ').replace(/[,;:]+$/, '');
}

/** Fields that are not objects or arrays (nothing nested below them). */
function scalarFields(fields: string[]): string[] {
  const parents = new Set<string>();
  for (const f of fields) {
    const m = /^[^.[]+/.exec(f);
    if (m && m[0].length < f.length) parents.add(m[0]);
  }
  return fields.filter((f) => !parents.has(f));
}

/**
 * Where the response describes people (see engine/people.ts): "" for the record itself,
 * the array's words for a nested list ("authors"), undefined when none.
 */
function personGroup(fields: string[]): string | undefined {
  const parent = personGroups(fields)[0];
  if (parent === undefined) return undefined;
  const last = parent.split('.').pop()!.replace(/\[\]$/, '');
  return last && !RECORD_CONTAINERS.has(last.toLowerCase()) ? humanize(last) : '';
}

function leafNames(fields: string[], rootOnly: boolean): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (rootOnly && (f.includes('.') || f.includes('['))) continue;
    const leaf = f.split('.').pop()!.replace(/\[\]$/, '');
    out.push(tokenize(leaf).join('_'));
  }
  return out;
}

/** Plural nouns of the count fields among leaf names ("follower_count" -> "followers"). */
function countsOf(leaves: string[]): string[] {
  const out = new Set<string>();
  for (const l of leaves) {
    const noun = countedNoun(l.split('_'));
    if (noun && !/^(page|pages|result|results|item|items|record|records|row|rows|entries|count)$/.test(noun.join(' '))) out.add(pluralize(noun.join(' ')));
  }
  return [...out];
}

/** A scalar attribute of the response to ask about ("due date", "status"); undefined when none. */
function attributeOf(e: Endpoint, rng: Rng): string | undefined {
  const leaves = textOf(e).rootLeaves.filter((l) => l && !/(^|_)(id|ids|url|uri|href|path|token|secret)$/.test(l) && l !== 'name' && l !== 'title');
  return leaves.length ? humanize(rng.pick(leaves)) : undefined;
}

// ---- slots and templates ---------------------------------------------------------------

interface Slots {
  E?: string;
  /** Entity's resource, singular and plural words. */
  R: string;
  Rs: string;
  /** The final thing the user wants, singular and plural. */
  S: string;
  Ss: string;
  /** Final step's clause, with the entity put in when possible, and with "it". */
  clause: string;
  clauseE: string;
  clauseIt: string;
  firstClause: string;
  firstClauseE: string;
  lead: string;
  attr?: string;
  /** Something the final record counts ("episodes"), when it has count fields. */
  count?: string;
  adj?: string;
  many: boolean;
  who: boolean;
  /** Rest of a "who" question: "are the authors" (a nested list of people) or "is the author" (the record is one). */
  whoQ: string;
  /** The final thing is the entity's own resource (read R after list R). */
  sameAsR: boolean;
  /** Final clause with the ranked record put in: "get the reviews for the most popular book". */
  clauseAdj?: string;
  /** Final clause about "the first R in the list". */
  clauseFirst: string;
}

type Template = (s: Slots) => string | false | undefined;

/** The user wants the entity itself (search R, read R/{id}). */
const DETAIL: Template[] = [
  (s) => s.clauseE,
  (s) => s.E && `show me ${s.E}`,
  (s) => s.E && `${s.lead} the ${s.R} ${s.E}`,
  (s) => s.E && `details of the ${s.R} ${s.E}`,
  (s) => s.E && `what do we know about ${s.E}?`,
  (s) => s.E && `tell me about ${s.E}`,
  (s) => s.E && `${s.R} ${s.E}`,
  (s) => s.E && `find ${s.E} and open it`,
  (s) => s.E && s.attr && `what is the ${s.attr} of ${s.E}?`,
  (s) => s.E && s.attr && `${s.E} ${s.attr}`,
  (s) => s.E && s.attr && `how about the ${s.attr} of the ${s.R} ${s.E}?`,
  (s) => s.E && `I need info on the ${s.R} called ${s.E}`,
  // Most questions about a record ask for one of its attributes.
  (s) => s.E && s.attr && `what's the ${s.attr} of the ${s.R} ${s.E}`,
  (s) => s.E && s.attr && `${s.E}: ${s.attr}?`,
  (s) => s.E && s.attr && `tell me the ${s.attr} of ${s.E}`,
  (s) => s.E && s.attr && `I'd like to know ${s.E}'s ${s.attr}`,
  // A record that counts something answers "how many" about it without listing them.
  (s) => s.E && s.count && `how many ${s.count} does ${s.E} have?`,
  (s) => s.E && s.count && `how many ${s.count} are there in the ${s.R} ${s.E}?`,
];

/** The user changes the entity itself (find R, then update/delete/act on it). */
const MUTATE: Template[] = [
  (s) => s.clauseE,
  (s) => s.clauseE,
  (s) => !s.E && s.clauseIt !== s.clause && `pick any ${s.R} and ${s.clauseIt}`,
  (s) => !s.E && s.clauseIt !== s.clause && `go through the ${s.Rs} and ${s.clauseIt}`,
  (s) => `please ${s.clauseE}`,
  (s) => `can you ${s.clauseE}?`,
  (s) => `I need to ${s.clauseE}`,
  (s) => s.E && `${s.lead} ${s.E}`,
  (s) => s.E && `${s.lead} the ${s.R} ${s.E}`,
  (s) => s.E && s.attr && `change the ${s.attr} of ${s.E}`,
  (s) => s.E && `find ${s.E} and ${s.clauseIt}`,
];

const LOOKUP: Template[] = [
  (s) => s.clauseE,
  (s) => s.clauseE,
  (s) => s.E && `show me the ${s.many ? s.Ss : s.S} of the ${s.R} ${s.E}`,
  (s) => s.E && `show me the ${s.many ? s.Ss : s.S} of ${s.E}`,
  (s) => s.E && (s.many ? `what are ${s.E}'s ${s.Ss}?` : `what is ${s.E}'s ${s.S}?`),
  (s) => s.E && `${s.many ? s.Ss : s.S} for ${s.E}`,
  (s) => s.E && `${s.E} ${s.many ? s.Ss : s.S}`,
  (s) => s.E && `i need the ${s.many ? s.Ss : s.S} for ${s.R} ${s.E}`,
  (s) => s.E && `can you ${s.lead} the ${s.many ? s.Ss : s.S} of ${s.E}?`,
  (s) => s.E && `I want to see the ${s.many ? s.Ss : s.S} for ${s.E}`,
  (s) => s.E && s.clauseIt.split(' ').length > 2 && `${s.lead} the ${s.R} ${s.E} and ${s.clauseIt}`,
  (s) => s.E && `look up ${s.E} and tell me its ${s.many ? s.Ss : s.S}`,
  (s) => s.E && s.who && `who ${s.whoQ} of ${s.E}?`,
  (s) => s.E && s.who && `who ${s.whoQ} for the ${s.R} ${s.E}?`,
  (s) => s.E && s.who && `who ${s.whoQ} of ${s.E}`,
  (s) => s.E && s.many && `how many ${s.Ss} does ${s.E} have?`,
  (s) => s.E && s.many && `which ${s.Ss} does the ${s.R} ${s.E} have?`,
  (s) => s.E && s.attr && `what is the ${s.attr} of ${s.E}'s ${s.S}?`,
  (s) => s.E && s.attr && !s.many && `what's the ${s.attr} for ${s.E}`,
  (s) => s.E && `${s.many ? s.Ss : s.S} of ${s.E} please`,
  (s) => s.E && `I want to see the ${s.many ? s.Ss : s.S} of ${s.R} called ${s.E}`,
  (s) => s.E && `the ${s.R} named ${s.E}: ${s.clause}`,
  (s) => s.E && `${s.firstClauseE}, then ${s.clauseIt}`,
  (s) => `${s.lead} the ${s.many ? s.Ss : s.S}`,
  (s) => s.clause,
];

const RANKED: Template[] = [
  (s) => s.adj && !s.sameAsR && `${s.lead} the ${s.many ? s.Ss : s.S} of the ${s.adj} ${s.R}`,
  (s) => s.adj && !s.sameAsR && `what are the ${s.Ss} of the ${s.adj} ${s.R}?`,
  (s) => s.adj && s.clauseAdj,
  (s) => s.adj && s.clauseAdj,
  (s) => s.adj && !s.sameAsR && `${s.Ss} of today's ${s.adj} ${s.R}`,
  (s) => s.adj && !s.sameAsR && `get the ${s.adj} ${s.Rs} and show the ${s.many ? s.Ss : s.S} of the first one`,
  (s) => s.adj && !s.sameAsR && `which ${s.Ss} does the ${s.adj} ${s.R} have?`,
  (s) => s.adj && s.who && `who ${s.whoQ} of the ${s.adj} ${s.R}?`,
  (s) => s.adj && s.attr && `what is the ${s.attr} of the ${s.adj} ${s.R}?`,
  (s) => s.adj && s.sameAsR && `details of the ${s.adj} ${s.R}`,
  (s) => s.adj && s.sameAsR && `tell me about the ${s.adj} ${s.R} right now`,
  (s) => s.adj && s.sameAsR && `${s.lead} the ${s.adj} ${s.R}`,
  (s) => s.adj && s.sameAsR && s.count && `how many ${s.count} does the ${s.adj} ${s.R} have?`,
  (s) => s.clauseFirst,
  (s) => `pick any ${s.R} and ${s.clauseIt}`,
  (s) => !s.sameAsR && `${s.many ? s.Ss : s.S} of one of the ${s.Rs}`,
  (s) => `go through the ${s.Rs} and ${s.clauseIt}`,
];

const CREATE: Template[] = [
  (s) => `${s.firstClause}${s.E ? ` called ${s.E}` : ''} and then ${s.clauseIt}`,
  (s) => s.clauseIt.split(' ').length > 2 && `create ${withArticle(s.R)}${s.E ? ` named ${s.E}` : ''}, check it, then ${s.clauseIt}`,
  (s) => s.attr && `add a new ${s.R}${s.E ? ` ${s.E}` : ''} and change its ${s.attr}`,
  (s) => `set up ${withArticle(s.R)}${s.E ? ` for ${s.E}` : ''} and ${s.clauseIt}`,
  (s) => `${s.clause} right after creating it`,
  (s) => `new ${s.R}${s.E ? ` ${s.E}` : ''}, then ${s.clauseIt}`,
  (s) => s.clauseE,
];

const SHORT_LIST: Template[] = [
  (s) => s.clause,
  (s) => `show me all ${s.Ss}`,
  (s) => `what ${s.Ss} are there?`,
  (s) => `${s.lead} ${s.Ss}`,
  (s) => `how many ${s.Ss} do we have?`,
  (s) => s.Ss,
  (s) => s.adj && `what are the ${s.adj} ${s.Ss}?`,
  (s) => s.adj && `show the ${s.adj} ${s.Ss}`,
  (s) => s.E && s.clauseE,
];
const SHORT_SEARCH: Template[] = [
  (s) => s.clauseE,
  (s) => s.E && `search for ${s.E}`,
  (s) => s.E && `find ${s.Ss} matching ${s.E}`,
  (s) => s.E && `is there a ${s.S} called ${s.E}?`,
  (s) => s.E && `look up ${s.E}`,
  (s) => s.E && `${s.S} ${s.E}`,
];
const SHORT_ONE: Template[] = [
  (s) => s.clauseE,
  (s) => s.clauseE,
  (s) => s.E && `${s.lead} ${s.S} ${s.E}`,
  (s) => s.E && `details of ${s.E}`,
  (s) => s.E && s.attr && `what is the ${s.attr} of ${s.E}?`,
  (s) => s.E && s.count && `how many ${s.count} does ${s.E} have?`,
  (s) => s.E && `please ${s.clauseE}`,
  (s) => s.clause,
];
const WALK: Template[] = [
  (s) => `${s.firstClause} and then ${s.clause}`,
  (s) => s.clauseE,
  ...LOOKUP.slice(2, 12),
];

const WHO: Template[] = [
  (s) => s.E && `who ${s.whoQ} of ${s.E}?`,
  (s) => s.E && `who ${s.whoQ} for the ${s.R} ${s.E}?`,
  (s) => s.E && `tell me who ${s.whoQ} of ${s.E}`,
  (s) => s.adj && `who ${s.whoQ} of the ${s.adj} ${s.R}?`,
  (s) => s.adj && `who ${s.whoQ} of today's ${s.adj} ${s.R}?`,
  // Users ask who took part without naming the list that holds them.
  (s) => s.E && `who worked on ${s.E}?`,
  (s) => s.E && `who was involved in the ${s.R} ${s.E}?`,
  (s) => s.adj && `who worked on the ${s.adj} ${s.R}?`,
];

const READS = new Set(['list', 'search', 'read']);

function family(ctx: GoalContext, last: PromptStep): Template[] {
  const n = ctx.steps.length;
  const kind = last.facts.kind;
  if (ctx.pattern === 'create-read-update') return CREATE;
  if (!READS.has(kind)) return MUTATE;
  if (n === 1) return kind === 'list' ? SHORT_LIST : kind === 'search' ? SHORT_SEARCH : SHORT_ONE;
  const first = ctx.steps[0]!;
  if (!ctx.entity && first.facts.kind === 'list') return RANKED;
  if (ctx.entity && kind !== 'list' && last.facts.resource === (ctx.entityResource ?? first.facts.resource)) return DETAIL;
  if (ctx.pattern === 'random-walk') return WALK;
  return LOOKUP;
}

/** "a project", "an invoice". */
function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) && !/^(uni|use|usa|one|eu)/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** Put the entity where the clause mentions its resource ("a product" -> "the product Aero Pro"), or append it. */
function withEntity(clause: string, rWords: string[], E: string | undefined, R: string, rng: Rng, numeric = false): string {
  if (!E) return clause;
  // Singular mentions only: "list the orders" names no one order.
  const words = clause.split(' ');
  const m = findMention(words, rWords, false);
  if (m && m.start > 0) {
    // A bare number or id reads as a name only with its noun: "ticket 4821", not "4821".
    const rep = numeric ? `${m.noun} ${E}` : rng.pick([`${m.noun} ${E}`, E, `the ${m.noun} ${E}`]);
    return [...words.slice(0, m.start), rep + (m.poss ? "'s" : '') + m.tail, ...words.slice(m.end)].join(' ');
  }
  return `${clause} ${numeric ? `for ${R}` : rng.pick(['for', 'of', 'for the ' + R])} ${E}`;
}

/** "get the reviews for a book" -> "get the reviews for the most popular book"; appended when the clause names no book. */
function withRanked(clause: string, rWords: string[], phrase: string): string {
  const words = clause.split(' ');
  const m = findMention(words, rWords, false);
  if (!m || m.start === 0) return `${clause} for ${phrase}`;
  return [...words.slice(0, m.start), phrase + (m.poss ? "'s" : '') + m.tail, ...words.slice(m.end)].join(' ');
}

function withIt(clause: string, rWords: string[]): string {
  const words = clause.split(' ');
  const m = findMention(words, [...rWords, ...rWords.map(pluralize)], true);
  if (!m) return clause;
  return [...words.slice(0, m.start), (m.poss ? 'its' : 'it') + m.tail, ...words.slice(m.end)].join(' ');
}

const MENTION_DET = new Set(['a', 'an', 'the', 'this', 'that', 'one', 'each', 'my', 'your', 'our']);
const MENTION_ADJ = new Set(['given', 'specific', 'particular', 'single', 'existing', 'certain']);

interface Mention {
  /** Word range [start, end) including a determiner and adjective before the noun. */
  start: number;
  end: number;
  noun: string;
  poss: boolean;
  /** Punctuation that followed the noun. */
  tail: string;
}

/** First mention of one of `forms` (each one or more words) in `words`; word matching, no regex. */
function findMention(words: string[], forms: string[], needDeterminer: boolean): Mention | undefined {
  const split = forms.filter(Boolean).map((f) => f.toLowerCase().split(' '));
  for (let j = 0; j < words.length; j++) {
    for (const f of split) {
      if (j + f.length > words.length) continue;
      let poss = false;
      let tail = '';
      let ok = true;
      for (let k = 0; k < f.length && ok; k++) {
        let w = words[j + k]!.toLowerCase();
        if (k === f.length - 1) {
          const p = /[,.;:!?]+$/.exec(w);
          if (p) ((tail = p[0]), (w = w.slice(0, -tail.length)));
          if (w.endsWith("'s")) ((poss = true), (w = w.slice(0, -2)));
        }
        ok = w === f[k];
      }
      if (!ok) continue;
      let start = j;
      if (start > 0 && MENTION_ADJ.has(words[start - 1]!.toLowerCase())) start--;
      if (start > 0 && MENTION_DET.has(words[start - 1]!.toLowerCase())) start--;
      if (needDeterminer && (start === j || !MENTION_DET.has(words[start]!.toLowerCase()))) continue;
      return { start, end: j + f.length, noun: f.join(' '), poss, tail };
    }
  }
  return undefined;
}

/** The noun the user wants at the end, drawn from the endpoint's own words. */
function finalThing(step: PromptStep, entityR: string, rng: Rng): string {
  const e = step.endpoint;
  const options: string[] = [humanize(step.facts.resource)];
  const core = textOf(e).core;
  if (core && core.split(' ').length <= 5) options.push(core, core);
  const op = tokenize(e.operationId).slice(1);
  if (op.length > 0 && op.length <= 4 && !PREPOSITIONS.has(op[0]!) && !DETERMINERS.has(op[0]!)) options.push(op.join(' '));
  const pathWords = textOf(e).pathWords;
  for (const t of e.tags) {
    const words = tokenize(t);
    // Tags often name a whole group ("products" on a reviews endpoint); keep the ones about this path.
    if (t.length <= 30 && words.some((w) => pathWords.has(w)) && singularPhrase(words.join(' ')) !== entityR) options.push(words.join(' '));
  }
  return rng.pick(options).toLowerCase();
}

function singularPhrase(p: string): string {
  const words = p.split(' ');
  const w = words[words.length - 1]!;
  words[words.length - 1] = /ies$/.test(w) ? w.slice(0, -3) + 'y' : /(ss|us|is)$/.test(w) ? w : w.replace(/s$/, '');
  return words.join(' ');
}

function adjectiveOf(step: PromptStep, rng: Rng): string | undefined {
  const q = step.facts.qualifier;
  if (!q) return undefined;
  const words = q.split(' ');
  if (words.length === 1 && !NO_MOST.has(q) && !q.endsWith('est') && rng.chance(0.6)) return `most ${q}`;
  return q;
}

/** The goal of a whole workflow, identical for every one of its steps. */
export function renderGoalPrompt(ctx: GoalContext, rng: Rng): string {
  const steps = ctx.steps;
  if (steps.length === 0) return '';
  const first = steps[0]!;
  const last = steps[steps.length - 1]!;
  const entityR = ctx.entityResource ?? first.facts.resource;
  const rWords = [humanize(entityR), entityR.split('_').pop()!];
  const R = rWords[0]!;
  const thing = finalThing(last, R, rng);
  const many = last.facts.kind === 'list' || last.facts.kind === 'search' || (thing.endsWith('s') && !/(ss|us|is)$/.test(thing));
  const S = singularPhrase(thing);
  const clause = clauseOf(last.endpoint, rng);
  const E = ctx.entity?.text;
  const lastText = textOf(last.endpoint);
  const adj = adjectiveOf(first, rng);
  const numeric = ctx.entity ? /^#?\d+$/.test(ctx.entity.text) : false;
  const verb = DEFAULT_LEAD[last.facts.kind] ?? 'get';
  const slots: Slots = {
    E,
    R,
    Rs: pluralize(R),
    S,
    Ss: pluralize(S),
    clause,
    clauseE: withEntity(clause, rWords, E, R, rng, numeric),
    clauseIt: withIt(clause, rWords),
    firstClause: clauseOf(first.endpoint, rng),
    firstClauseE: withEntity(clauseOf(first.endpoint, rng), rWords, E, R, rng, numeric),
    // An action's own verb ("cancel", "archive") is the only sensible lead for it.
    lead: last.facts.kind === 'action' && last.facts.actionVerb ? last.facts.actionVerb : rng.pick(LEAD[verb] ?? LEAD.get!),
    attr: attributeOf(last.endpoint, rng),
    count: lastText.counts.length ? rng.pick(lastText.counts) : undefined,
    adj,
    many,
    who: lastText.personish,
    whoQ: lastText.whoNoun ? `are the ${lastText.whoNoun}` : `is the ${humanize(last.facts.resource)}`,
    sameAsR: last.facts.resource === entityR,
    clauseAdj: adj ? withRanked(clause, rWords, `the ${adj} ${R}`) : undefined,
    clauseFirst: withRanked(clause, rWords, `the first ${R} in the list`),
  };
  // A response that lists people answers "who ..." questions; users ask them often.
  const asksWho = lastText.whoNoun !== undefined && !slots.sameAsR && READS.has(last.facts.kind) && steps.length >= 2 && (E !== undefined || adj !== undefined) && rng.chance(0.5);
  const templates = asksWho ? WHO : family(ctx, last);
  let text: string | undefined;
  for (let tries = 0; tries < 12 && !text; tries++) text = rng.pick(templates)(slots) || undefined;
  return noisy(text ?? slots.clauseE, rng);
}

const DEFAULT_LEAD: Partial<Record<string, string>> = { list: 'list', search: 'search', read: 'get', create: 'create', update: 'update', delete: 'delete' };

/** A prompt for one step alone, written from that step's own summary. */
export function renderStepPrompt(step: PromptStep, ctx: StepContext, rng: Rng): string {
  const clause = clauseOf(step.endpoint, rng);
  const own = [humanize(step.facts.resource), step.facts.resource.split('_').pop()!];
  const values = Object.entries(ctx.params ?? {});
  const lastValue = values.length ? values[values.length - 1]![1] : undefined;
  const options: string[] = [clause, clause];
  if (ctx.entity && step.facts.kind === 'search') options.push(withEntity(clause, own, ctx.entity.text, own[0]!, rng), `search ${ctx.entity.text}`);
  if (lastValue) {
    const pr = step.facts.paramResources[step.facts.paramResources.length - 1] ?? step.facts.resource;
    const words = [humanize(pr), pr.split('_').pop()!];
    options.push(withEntity(clause, words, lastValue, words[0]!, rng, true), `${clause} (${values[values.length - 1]![0]} ${lastValue})`);
  }
  options.push(`now ${clause}`, `next, ${clause}`);
  return noisy(rng.pick(options), rng);
}

/** Case, punctuation and typo noise, as real prompts have. */
export function noisy(text: string, rng: Rng): string {
  let t = text.replace(/\s+/g, ' ').trim();
  if (rng.chance(0.08)) {
    const words = t.split(' ');
    const idx = words.map((w, i) => (/^[a-z]{5,}$/.test(w) ? i : -1)).filter((i) => i >= 0);
    if (idx.length) {
      const i = rng.pick(idx);
      const w = words[i]!;
      const k = rng.int(1, w.length - 2);
      const kind = rng.int(0, 2);
      words[i] = kind === 0 ? w.slice(0, k) + w[k + 1] + w[k] + w.slice(k + 2) : kind === 1 ? w.slice(0, k) + w.slice(k + 1) : w.slice(0, k) + w[k] + w.slice(k);
      t = words.join(' ');
    }
  }
  const r = rng.next();
  if (r < 0.3) t = t.toLowerCase();
  else if (r < 0.9) t = t.charAt(0).toUpperCase() + t.slice(1);
  if (rng.chance(0.25)) t = t.replace(/[?.!]+$/, '');
  else if (!/[?.!]$/.test(t) && rng.chance(0.3)) t += '.';
  return t;
}
