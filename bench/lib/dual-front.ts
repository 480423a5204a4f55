/**
 * Child process of the http-vs-uws scenario: ONE server process whose prediction pipeline
 * (PredictService, pool, store, from the built dist/) is served twice: by the normal uWS
 * front end (startServer, OPENSESAME_API_PORT) and by a small node:http front end on
 * `--http-port`. Both do the same per-request work around ctx.predictor.predictJson — JSON
 * content-type check, parse, schema validation, catalog errors, the request metrics — so
 * a difference in a load run is the HTTP layer's.
 *
 *   node dist/bench/lib/dual-front.js --http-port 18001
 *   node -r ts-node/register/transpile-only bench/lib/dual-front.ts --http-port 18001
 */
import http from 'node:http';
import path from 'node:path';
import { packageRoot } from '../../engine/package-root';
import type * as AppModule from '../../server/app';
import type * as ConfigModule from '../../server/config';
import type * as ErrorsModule from '../../server/errors';
import type * as SchemasModule from '../../server/schemas';

// The built server, like `node dist/server/main.js` runs it (workers load dist/ anyway).
const dist = path.join(packageRoot(), 'dist', 'server');
const { startServer } = require(path.join(dist, 'app.js')) as typeof AppModule;
const { resolveConfig } = require(path.join(dist, 'config.js')) as typeof ConfigModule;
const { Errors, toErrorBody } = require(path.join(dist, 'errors.js')) as typeof ErrorsModule;
const { check, validatePredict } = require(path.join(dist, 'schemas.js')) as typeof SchemasModule;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function argPort(): number {
  const i = process.argv.indexOf('--http-port');
  const port = Number(process.argv[i + 1]);
  if (i < 0 || !Number.isInteger(port) || port <= 0) throw new Error('--http-port <port> is required');
  return port;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(Errors.bodyTooLarge(limit));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const httpPort = argPort();
  const running = await startServer(resolveConfig());
  const { ctx } = running;
  let counter = 0;

  const handle = async (req: http.IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> => {
    if (req.url === '/health') return { status: 200, body: { status: 'ok' } };
    if (req.url !== '/predict') throw Errors.notFound(req.url ?? '');
    if (req.method !== 'POST') throw Errors.methodNotAllowed(req.method ?? '', ['POST']);
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) throw Errors.unsupportedMediaType(req.headers['content-type'] ?? '(none)', 'application/json');
    const raw = await readBody(req, ctx.config.maxBodyBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch (err) {
      throw Errors.badJson((err as Error).message);
    }
    const body = check(validatePredict, parsed);
    // The JSON text, as the uWS route sends it (no parse and re-serialise).
    return { status: 200, body: await ctx.predictor.predictJson(body, `node-http-${(counter++).toString(36)}`) };
  };

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
      if (req.url === '/predict') {
        ctx.metrics.requests.inc({ route: '/predict', method: req.method ?? '', status: String(status) });
        ctx.metrics.requestSeconds.observe({ route: '/predict' }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
    handle(req).then(
      (r) => send(r.status, r.body, r.headers),
      (err: unknown) => {
        const e = toErrorBody(err);
        send(e.status, e.body, e.headers);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(httpPort, '127.0.0.1', () => resolve());
  });

  const stop = () => {
    server.close();
    server.closeAllConnections();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`dual-front failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
