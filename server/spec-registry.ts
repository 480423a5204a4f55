/**
 * The main thread's view of the API catalogs: parsed catalogs in memory for building
 * responses, spec records in LMDB (the store is the source of truth that workers read).
 *
 * Start-up order: specs already in the store (uploads survive restarts), then bundled
 * specs/ and OPENSESAME_SPECS_DIR (files win over stale stored copies of themselves).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildCatalog, parseSpecText, slugify, SpecError } from '../engine/catalog';
import { PathRouter } from '../engine/path-router';
import type { Catalog } from '../engine/types';
import type { SpecRecord, SpecSource, Store } from '../store';
import { Errors } from './errors';
import { nestsDeeperThan } from './schemas';

/** Deepest nesting accepted in an OpenAPI document (real ones stay under ~40). */
const MAX_SPEC_DEPTH = 256;

export interface RegisteredSpec {
  catalog: Catalog;
  source: SpecSource;
  url?: string;
  createdAt: number;
  /** When a URL spec was last fetched (ms). */
  fetchedAt?: number;
  /** Built on first use (feedback resolution). */
  router?: PathRouter;
}

export interface SpecSummary {
  spec_id: string;
  title: string;
  version: string;
  format: string;
  endpoints: number;
  source: SpecSource;
  url?: string;
  created_at: string;
  catalog_hash: string;
  warnings: string[];
}

const SPEC_FILE = /\.(json|ya?ml)$/i;
const MAX_SPEC_BYTES = 20 * 1024 * 1024;

export class SpecRegistry {
  private readonly specs = new Map<string, RegisteredSpec>();

  constructor(
    private readonly store: Store,
    private readonly opts: { urlTtlSeconds: number; fetchTimeoutMs: number; maxBytes?: number; now?: () => number },
  ) {}

  get(id: string): RegisteredSpec | undefined {
    return this.specs.get(id);
  }

  /** The path trie of a spec, built once per catalog version. */
  router(id: string): PathRouter | undefined {
    const s = this.specs.get(id);
    if (!s) return undefined;
    s.router ??= new PathRouter(s.catalog.endpoints, s.catalog.basePath);
    return s.router;
  }

  ids(): string[] {
    return [...this.specs.keys()];
  }

  list(): SpecSummary[] {
    return [...this.specs.values()].map(summarize);
  }

  /** Load stored specs, then the given directories. Bad files are reported, not fatal. */
  async loadAtStart(dirs: { dir: string; source: SpecSource }[]): Promise<{ loaded: string[]; failed: { file: string; reason: string }[] }> {
    const loaded: string[] = [];
    const failed: { file: string; reason: string }[] = [];
    for (const rec of this.store.specs.list()) {
      try {
        const catalog = rec.catalogJson ? (JSON.parse(rec.catalogJson) as Catalog) : await buildCatalog(JSON.parse(rec.rawJson), { specId: rec.specId });
        this.specs.set(rec.specId, { catalog, source: rec.source, url: rec.url, createdAt: rec.createdAt });
      } catch (err) {
        failed.push({ file: `store:${rec.specId}`, reason: (err as Error).message });
      }
    }
    for (const { dir, source } of dirs) {
      if (!fs.existsSync(dir)) continue;
      for (const name of fs.readdirSync(dir).filter((f) => SPEC_FILE.test(f)).sort()) {
        const file = path.join(dir, name);
        try {
          const doc = parseSpecText(fs.readFileSync(file, 'utf8'));
          const id = slugify(name.replace(SPEC_FILE, ''));
          await this.add(doc, { specId: id, source });
          loaded.push(id);
        } catch (err) {
          failed.push({ file, reason: (err as Error).message });
        }
      }
    }
    return { loaded, failed };
  }

  /** Parse, validate and store a document; rejects with a catalog ApiError. */
  async add(doc: Record<string, unknown>, opts: { specId?: string; source: SpecSource; url?: string; strict?: boolean }): Promise<RegisteredSpec> {
    // Far deeper than any real document; past ~1,000 levels the recursive dereferencing
    // overflows the stack (a 500), so refuse such documents up front.
    if (nestsDeeperThan(doc, MAX_SPEC_DEPTH)) throw Errors.invalidSpec(`document nests deeper than ${MAX_SPEC_DEPTH} levels`);
    let catalog: Catalog;
    try {
      catalog = await buildCatalog(doc, { specId: opts.specId, strict: opts.strict });
    } catch (err) {
      if (err instanceof SpecError) throw Errors.invalidSpec(err.message);
      throw err;
    }
    const now = this.now();
    const record: SpecRecord = {
      specId: catalog.specId,
      title: catalog.title,
      version: catalog.version,
      format: catalog.format,
      source: opts.source,
      url: opts.url,
      createdAt: now,
      catalogHash: catalog.hash,
      rawJson: JSON.stringify(doc),
      catalogJson: JSON.stringify(catalog),
    };
    // Store first: workers load catalogs from the store by (id, hash).
    await this.store.specs.put(record);
    const reg: RegisteredSpec = { catalog, source: opts.source, url: opts.url, createdAt: now, fetchedAt: opts.url ? now : undefined };
    this.specs.set(catalog.specId, reg);
    return reg;
  }

  /** Fetch a spec by URL (cached for the URL TTL), then add it. */
  async addFromUrl(url: string, opts: { specId?: string; strict?: boolean }): Promise<RegisteredSpec> {
    const text = await this.fetchText(url);
    let doc: Record<string, unknown>;
    try {
      doc = parseSpecText(text);
    } catch (err) {
      throw Errors.invalidSpec((err as Error).message);
    }
    return this.add(doc, { specId: opts.specId, source: 'url', url, strict: opts.strict });
  }

  /** Re-fetch URL specs whose TTL has passed; failures keep the old copy. */
  async refreshExpired(): Promise<string[]> {
    const refreshed: string[] = [];
    const ttlMs = this.opts.urlTtlSeconds * 1000;
    for (const [id, s] of this.specs) {
      if (s.source !== 'url' || !s.url || (s.fetchedAt ?? 0) + ttlMs > this.now()) continue;
      try {
        await this.addFromUrl(s.url, { specId: id });
        refreshed.push(id);
      } catch {
        s.fetchedAt = this.now(); // try again after another TTL rather than on every tick
      }
    }
    return refreshed;
  }

  async delete(id: string): Promise<boolean> {
    const had = this.specs.delete(id);
    const stored = await this.store.specs.delete(id);
    return had || stored;
  }

  private async fetchText(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw Errors.specFetchFailed('not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw Errors.specFetchFailed('only http and https URLs are fetched');
    const cached = this.store.urlSpecs.get(url);
    if (cached) return cached.raw;
    let text: string;
    try {
      const res = await fetch(parsed, { signal: AbortSignal.timeout(this.opts.fetchTimeoutMs), redirect: 'follow' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const max = this.opts.maxBytes ?? MAX_SPEC_BYTES;
      if (Number(res.headers.get('content-length') ?? 0) > max) throw new Error(`document larger than ${max} bytes`);
      text = await res.text();
      if (text.length > max) throw new Error(`document larger than ${max} bytes`);
    } catch (err) {
      const e = err as Error;
      throw Errors.specFetchFailed(e.name === 'TimeoutError' ? `timed out after ${this.opts.fetchTimeoutMs} ms` : e.message);
    }
    await this.store.urlSpecs.put(url, text, this.opts.urlTtlSeconds);
    return text;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }
}

export function summarize(s: RegisteredSpec): SpecSummary {
  const c = s.catalog;
  return {
    spec_id: c.specId,
    title: c.title,
    version: c.version,
    format: c.format,
    endpoints: c.endpoints.length,
    source: s.source,
    url: s.url,
    created_at: new Date(s.createdAt).toISOString(),
    catalog_hash: c.hash,
    warnings: c.warnings,
  };
}
