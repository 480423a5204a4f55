/**
 * GET /openapi.json (the service's own OpenAPI 3.1 document) and GET /docs, a Swagger UI
 * page served from the installed swagger-ui-dist package — no CDN, so the page works on
 * an air-gapped host. Files are read once at start (≈2 MB held in memory); gzip copies
 * are made on first request, not at start, to keep start-up short.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../../engine/package-root';
import type { ServerContext } from '../app';
import { Errors } from '../errors';
import { buildOpenApiDocument } from '../openapi-doc';
import type { HttpReply, HttpRequest } from '../uws-adapter';

/** Swagger UI files served under /docs/, by name → content type. */
const PACKAGE_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Our own initializer (a file, not an inline script, so a strict CSP can be added later). */
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
};
`;

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>OpenSesame Predictor — API docs</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
    <style>html { box-sizing: border-box; overflow-y: scroll; } body { margin: 0; background: #fafafa; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="/docs/swagger-initializer.js" charset="utf-8"></script>
  </body>
</html>
`;

/** Asset names are not versioned, so browsers revalidate daily; the ETag makes that a 304. */
const ASSET_CACHE = 'public, max-age=86400';
/** The page and the document change with the deployed version: always revalidate. */
const PAGE_CACHE = 'no-cache';

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
  gzipped?: Buffer;
}

/** Names served under /docs/{asset}; listed in the OpenAPI document. */
export const DOCS_ASSET_NAMES: readonly string[] = [...Object.keys(PACKAGE_ASSETS), 'swagger-initializer.js'];

function staticFile(body: Buffer, type: string, cacheControl: string): StaticFile {
  const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type, etag, cacheControl };
}

function swaggerUiDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

function serveFile(req: HttpRequest, file: StaticFile): HttpReply {
  const headers: Record<string, string> = { 'Cache-Control': file.cacheControl, ETag: file.etag, 'X-Content-Type-Options': 'nosniff', Vary: 'Accept-Encoding' };
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === file.etag)) {
    return { status: 304, body: '', headers, contentType: file.type };
  }
  // Text assets compress ~4x; PNGs are already compressed.
  if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && !file.type.startsWith('image/')) {
    file.gzipped ??= gzipSync(file.body);
    return { status: 200, body: file.gzipped, headers: { ...headers, 'Content-Encoding': 'gzip' }, contentType: file.type };
  }
  return { status: 200, body: file.body, headers, contentType: file.type };
}

export function registerDocsRoutes(ctx: ServerContext): void {
  const { http } = ctx;
  const root = packageRoot();
  const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const doc = buildOpenApiDocument({ version, docsAssets: DOCS_ASSET_NAMES });
  const openapi = staticFile(Buffer.from(JSON.stringify(doc)), 'application/json', PAGE_CACHE);
  const index = staticFile(Buffer.from(INDEX_HTML), 'text/html; charset=utf-8', PAGE_CACHE);

  const dir = swaggerUiDir();
  const assets = new Map<string, StaticFile>();
  for (const [name, type] of Object.entries(PACKAGE_ASSETS)) {
    assets.set(name, staticFile(fs.readFileSync(path.join(dir, name)), type, ASSET_CACHE));
  }
  // Ours may change with any deploy, so it is revalidated like the page.
  assets.set('swagger-initializer.js', staticFile(Buffer.from(INITIALIZER), 'text/javascript; charset=utf-8', PAGE_CACHE));

  http.route('get', '/openapi.json', (req) => serveFile(req, openapi));
  http.route('get', '/docs', (req) => serveFile(req, index));
  http.route('get', '/docs/:asset', (req) => {
    const file = assets.get(req.params[0]!);
    if (!file) throw Errors.notFound(req.url);
    return serveFile(req, file);
  });
}
