/**
 * The one place that touches uWebSockets.js's HTTP surface. Every uWS rule lives here
 * (STYLE.md item 6), so handlers are plain async functions of a copied request:
 *
 *  1. everything is copied out of `req` synchronously — uWS reuses it after the handler
 *     returns, so reading it after an `await` reads garbage;
 *  2. `res.onAborted` is registered before anything else; an aborted response is never
 *     written to again;
 *  3. every write after an `await` happens inside `res.cork()`;
 *  4. bodies are streamed with a byte limit (413 as soon as it is crossed) and each
 *     chunk is copied, because uWS neuters the ArrayBuffer after the callback;
 *  5. the listen socket is kept so shutdown can stop accepting and wait for in-flight
 *     requests.
 * Swapping in another uWS build means changing only this file and ws-adapter.ts.
 */
import uWS from 'uWebSockets.js';
import { ApiError, Errors, toErrorBody } from './errors';

export interface HttpRequest {
  method: string;
  /** Path without query string. */
  url: string;
  query: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Values of ":name" route segments, in order. */
  params: string[];
  remoteAddress: string;
  /** Request id: the client's X-Request-ID when sane, else generated; echoed in X-Request-ID. */
  id: string;
  /** Raw body bytes, when the route reads a body. */
  body?: Buffer;
  /**
   * A signal aborted when the client goes away before the reply (uWS onAborted). Made on
   * first call, so requests that never ask pay nothing for it.
   */
  abortSignal?: () => AbortSignal;
}

export interface HttpReply {
  status: number;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export type Handler = (req: HttpRequest) => Promise<HttpReply> | HttpReply;

/** Called once per finished request (metrics, access logs). */
export type ResponseHook = (req: HttpRequest, reply: HttpReply, route: string, startedAt: bigint) => void;

/** Adds headers to every response (request id, rate-limit headers...). */
export type HeaderHook = (req: HttpRequest) => Record<string, string>;

export interface RouteOptions {
  /** Read the body (POST/PUT/PATCH). */
  body?: boolean;
  /** Route label for metrics; defaults to the pattern. */
  label?: string;
  /** Body size limit of this route; defaults to the server's. */
  maxBodyBytes?: number;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'del' | 'head' | 'options';

export const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 201: '201 Created', 202: '202 Accepted', 204: '204 No Content', 304: '304 Not Modified',
  400: '400 Bad Request', 404: '404 Not Found', 405: '405 Method Not Allowed', 409: '409 Conflict',
  413: '413 Payload Too Large', 415: '415 Unsupported Media Type', 426: '426 Upgrade Required', 429: '429 Too Many Requests',
  500: '500 Internal Server Error', 503: '503 Service Unavailable', 504: '504 Gateway Timeout',
};

export class HttpServer {
  readonly app: uWS.TemplatedApp = uWS.App();
  private listenSocket: uWS.us_listen_socket | false = false;
  private inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  /** Run by close() once the listen socket is closed (ws-adapter.ts ends its WebSockets here). */
  private readonly closeHooks: ((timeoutMs: number) => Promise<void>)[] = [];
  private closing = false;
  /** pattern -> allowed methods, for 405 answers. */
  private readonly allowed = new Map<string, Set<string>>();
  private readonly patterns: { regex: RegExp; pattern: string }[] = [];
  onResponse: ResponseHook | undefined;
  extraHeaders: HeaderHook | undefined;

  private idCounter = 0;
  private readonly bootId = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');

  constructor(private readonly maxBodyBytes: number) {}

  /** The request id for X-Request-ID (also used by ws-adapter.ts for upgrade requests). */
  nextId(given: string | undefined): string {
    if (given && /^[\w.:-]{1,128}$/.test(given)) return given;
    this.idCounter = (this.idCounter + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.bootId}-${this.idCounter.toString(36)}`;
  }

  route(method: Method, pattern: string, handler: Handler, opts: RouteOptions = {}): void {
    const verb = method === 'del' ? 'DELETE' : method.toUpperCase();
    let set = this.allowed.get(pattern);
    if (!set) {
      set = new Set();
      this.allowed.set(pattern, set);
      this.patterns.push({ regex: patternRegex(pattern), pattern });
    }
    set.add(verb);
    const label = opts.label ?? pattern;
    const paramCount = (pattern.match(/:[^/]+/g) ?? []).length;
    const limit = opts.body ? (opts.maxBodyBytes ?? this.maxBodyBytes) : 0;
    this.app[method](pattern, (res, req) => this.serve(res, req, handler, label, paramCount, limit));
  }

  /** Routes for unknown paths (404) and known paths with the wrong method (405). */
  installFallback(): void {
    this.app.any('/*', (res, req) => {
      const method = req.getMethod().toUpperCase();
      const url = req.getUrl();
      const hit = this.patterns.find((p) => p.regex.test(url));
      const handler: Handler = () => {
        if (!hit) throw Errors.notFound(url);
        const allowed = [...this.allowed.get(hit.pattern)!];
        const err = Errors.methodNotAllowed(method, allowed);
        throw new ApiError(err.code, err.status, err.message, undefined, { Allow: allowed.join(', ') });
      };
      this.serve(res, req, handler, hit ? hit.pattern : 'unmatched', 0, 0);
    });
  }

  /** `bodyLimit` 0: the route reads no body. */
  private serve(res: uWS.HttpResponse, req: uWS.HttpRequest, handler: Handler, label: string, paramCount: number, bodyLimit: number): void {
    const startedAt = process.hrtime.bigint();
    let aborted = false;
    let finished = false;
    let abort: AbortController | undefined;
    res.onAborted(() => {
      aborted = true;
      abort?.abort();
      this.done(finished);
      finished = true;
    });
    this.inFlight++;
    // Copy everything out of req now: it is invalid after this function returns.
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const params: string[] = [];
    for (let i = 0; i < paramCount; i++) params.push(req.getParameter(i) ?? '');
    const request: HttpRequest = {
      method: req.getMethod().toUpperCase(),
      url: req.getUrl(),
      query: req.getQuery() ?? '',
      headers,
      params,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      id: this.nextId(headers['x-request-id']),
      abortSignal: () => {
        if (!abort) {
          abort = new AbortController();
          if (aborted) abort.abort();
        }
        return abort.signal;
      },
    };

    const send = (reply: HttpReply, closeConnection = false) => {
      if (aborted || finished) return;
      finished = true;
      let payload: string | Buffer;
      let type = reply.contentType;
      if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) {
        payload = reply.body;
        type ??= 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(reply.body);
        type ??= 'application/json';
      }
      const extra = this.extraHeaders ? safeHeaders(this.extraHeaders, request) : undefined;
      res.cork(() => {
        res.writeStatus(STATUS_TEXT[reply.status] ?? String(reply.status));
        res.writeHeader('Content-Type', type!);
        res.writeHeader('X-Request-ID', request.id);
        // One header set: a reply's own headers override the hook's (no duplicate lines).
        const headers = extra && reply.headers ? { ...extra, ...reply.headers } : (extra ?? reply.headers);
        if (headers) for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
        if (this.closing) res.writeHeader('Connection', 'close');
        res.end(payload, closeConnection);
      });
      this.onResponse?.(request, reply, label, startedAt);
      this.done(false);
    };

    const fail = (err: unknown, closeConnection = false) => {
      const { status, body, headers: h } = toErrorBody(err);
      send({ status, body, headers: h }, closeConnection);
    };

    const run = () => {
      let out: Promise<HttpReply> | HttpReply;
      try {
        out = handler(request);
      } catch (err) {
        fail(err);
        return;
      }
      if (out instanceof Promise) out.then(send, fail);
      else send(out);
    };

    if (bodyLimit === 0) {
      run();
      return;
    }
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > bodyLimit) {
      fail(Errors.bodyTooLarge(bodyLimit), true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (aborted || tooLarge) return;
      size += chunk.byteLength;
      if (size > bodyLimit) {
        tooLarge = true;
        // Answer now; the rest of the body is not read, so close the connection after it.
        fail(Errors.bodyTooLarge(bodyLimit), true);
        return;
      }
      // Buffer.from(Uint8Array) copies: uWS reuses the chunk's memory after this callback.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        request.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        run();
      }
    });
  }

  private done(alreadyCounted: boolean): void {
    if (alreadyCounted) return;
    this.inFlight--;
    if (this.inFlight === 0 && this.drainWaiters.length) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  /** Every (method, pattern) registered with `route`, in registration order (docs and tests). */
  registeredRoutes(): { method: string; pattern: string }[] {
    return [...this.allowed].flatMap(([pattern, methods]) => [...methods].map((method) => ({ method, pattern })));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (token) => {
        if (!token) {
          reject(new Error(`could not listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = token;
        resolve(uWS.us_socket_local_port(token));
      });
    });
  }

  /** Register work for close(): it runs after accepting stops, beside the in-flight wait. */
  onClose(hook: (timeoutMs: number) => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /** Stop accepting, then wait (up to timeoutMs) for in-flight requests and close hooks to finish. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closing = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = false;
    }
    const hooks = Promise.all(this.closeHooks.splice(0).map((hook) => hook(timeoutMs).catch(() => undefined)));
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await hooks;
    // App.close() (present in uWS v20.30, missing from its typings) also closes idle
    // keep-alive sockets, which would otherwise keep the process alive.
    (this.app as unknown as { close?: () => void }).close?.();
  }
}

function safeHeaders(hook: HeaderHook, req: HttpRequest): Record<string, string> | undefined {
  try {
    return hook(req);
  } catch {
    return undefined;
  }
}

function patternRegex(pattern: string): RegExp {
  const src = pattern
    .split('/')
    .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${src}$`);
}
