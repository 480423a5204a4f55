/**
 * Resolves a concrete call ("GET /users/123/orders/9?x=1") to its endpoint template and
 * parameter values, in time proportional to the path length.
 *
 * A segment trie built once per catalog:
 *
 *   root ─ "users" ─ "me"          (GET /users/me)
 *            │   └─ {param} ─ "orders" ─ {param}   (GET /users/{id}/orders/{orderId})
 *            └─ (endpoints of /users by method)
 *
 * Each node has a map of static children (compared case-insensitively), and a short list
 * of parameter children: whole-segment "{id}" or patterned segments like "{name}.{ext}"
 * or "{id}:cancel". Static children win over parameter children (so /users/me beats
 * /users/{id}); the search backtracks only when a static branch dead-ends deeper down.
 */
import type { Endpoint, HttpMethod } from './types';
import { HTTP_METHODS } from './types';

export interface RouteMatch {
  endpoint: number;
  params: Record<string, string>;
}

interface ParamChild {
  /** null for a whole-segment "{x}"; else an anchored regex with one group per placeholder. */
  pattern: RegExp | null;
  node: TrieNode;
}

interface TrieNode {
  statics: Map<string, TrieNode>;
  params: ParamChild[];
  byMethod: Map<string, number>;
  /** First endpoint registered here, used when the call names no method. */
  first: number;
}

const METHOD_SET: ReadonlySet<string> = new Set(HTTP_METHODS);
const MAX_SEGMENTS = 64;

function newNode(): TrieNode {
  return { statics: new Map(), params: [], byMethod: new Map(), first: -1 };
}

/** Split "METHOD path" / "path" / full URL into method and path (query and fragment dropped). */
export function parseApiCall(raw: string, method?: string): { method?: HttpMethod; path: string } {
  let s = raw.trim();
  let m: string | undefined;
  const sp = s.indexOf(' ');
  if (sp > 0) {
    const head = s.slice(0, sp).toUpperCase();
    if (METHOD_SET.has(head)) {
      m = head;
      s = s.slice(sp + 1).trim();
    }
  }
  const explicit = method?.trim().toUpperCase();
  if (explicit && METHOD_SET.has(explicit)) m = explicit;
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const cut = s.search(/[?#]/);
  if (cut >= 0) s = s.slice(0, cut);
  if (!s.startsWith('/')) s = `/${s}`;
  return { method: m as HttpMethod | undefined, path: s };
}

export class PathRouter {
  private readonly root = newNode();
  /**
   * Placeholder names of each endpoint's template, in path order. Templates that share a
   * trie branch may name their parameters differently (/users/{id} and
   * /users/{userId}/orders), so names come from the matched endpoint, not the branch.
   */
  private readonly names: string[][] = [];

  constructor(
    endpoints: readonly Endpoint[],
    private readonly basePath = '',
  ) {
    for (const e of endpoints) this.insert(e);
  }

  /** Resolve a concrete path; undefined when nothing matches (an expected miss). */
  match(path: string, method?: string): RouteMatch | undefined {
    const segs = splitPath(path);
    if (segs === undefined) return undefined;
    const found = this.lookup(segs, method);
    if (found) return found;
    // Clients often log the full request path including the server prefix ("/v3/...").
    const base = splitPath(this.basePath);
    if (base && base.length > 0 && base.length < segs.length && base.every((b, i) => b.toLowerCase() === segs[i]!.toLowerCase())) {
      return this.lookup(segs.slice(base.length), method);
    }
    return undefined;
  }

  /** Resolve a raw history entry ("GET /users/1", "/users/1?x=2", a full URL). */
  resolve(apiCall: string, method?: string): RouteMatch | undefined {
    const parsed = parseApiCall(apiCall, method);
    return this.match(parsed.path, parsed.method);
  }

  private lookup(segs: string[], method?: string): RouteMatch | undefined {
    const values: string[] = [];
    const node = this.walk(this.root, segs, 0, values, method);
    if (!node) return undefined;
    const idx = pickEndpoint(node, method);
    if (idx < 0) return undefined;
    const names = this.names[idx] ?? [];
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length && i < values.length; i++) params[names[i]!] = values[i]!;
    return { endpoint: idx, params };
  }

  private walk(node: TrieNode, segs: string[], i: number, values: string[], method?: string): TrieNode | undefined {
    if (i === segs.length) return pickEndpoint(node, method) >= 0 ? node : undefined;
    const seg = segs[i]!;
    const stat = node.statics.get(seg.toLowerCase());
    if (stat) {
      const hit = this.walk(stat, segs, i + 1, values, method);
      if (hit) return hit;
    }
    for (const child of node.params) {
      const mark = values.length;
      if (child.pattern === null) {
        values.push(seg);
      } else {
        const m = child.pattern.exec(seg);
        if (!m) continue;
        for (let k = 1; k < m.length; k++) values.push(m[k]!);
      }
      const hit = this.walk(child.node, segs, i + 1, values, method);
      if (hit) return hit;
      values.length = mark;
    }
    return undefined;
  }

  private insert(e: Endpoint): void {
    this.names[e.index] = [...e.path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!);
    let node = this.root;
    for (const seg of splitTemplate(e.path)) {
      if (!seg.includes('{')) {
        const key = seg.toLowerCase();
        let next = node.statics.get(key);
        if (!next) node.statics.set(key, (next = newNode()));
        node = next;
        continue;
      }
      const pattern = compileSegment(seg);
      const key = pattern === null ? null : pattern.source;
      let child = node.params.find((c) => (c.pattern === null ? null : c.pattern.source) === key);
      if (!child) {
        child = { pattern, node: newNode() };
        // Patterned segments ("{a}.{b}") are more specific than a bare "{x}": try them first.
        if (pattern === null) node.params.push(child);
        else node.params.unshift(child);
      }
      node = child.node;
    }
    if (!node.byMethod.has(e.method)) node.byMethod.set(e.method, e.index);
    if (node.first < 0) node.first = e.index;
  }
}

function pickEndpoint(node: TrieNode, method?: string): number {
  if (method) return node.byMethod.get(method.toUpperCase()) ?? -1;
  return node.byMethod.get('GET') ?? node.first;
}

/** Concrete path -> decoded segments; trailing and repeated slashes ignored. */
function splitPath(path: string): string[] | undefined {
  const raw = path.split('/').filter((s) => s.length > 0);
  if (raw.length > MAX_SEGMENTS) return undefined;
  const out: string[] = [];
  for (const s of raw) {
    try {
      out.push(decodeURIComponent(s));
    } catch {
      out.push(s); // malformed escape: keep the raw text rather than fail the whole entry
    }
  }
  return out;
}

function splitTemplate(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** null for a whole-segment placeholder; else an anchored regex, one group per placeholder. */
function compileSegment(seg: string): RegExp | null {
  if (/^\{[^{}]+\}$/.test(seg)) return null;
  let src = '^';
  let last = 0;
  for (const m of seg.matchAll(/\{([^{}]+)\}/g)) {
    src += escapeRegex(seg.slice(last, m.index));
    src += '(.+?)';
    last = m.index! + m[0].length;
  }
  src += `${escapeRegex(seg.slice(last))}$`;
  return new RegExp(src, 'i');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
