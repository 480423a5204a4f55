/**
 * Helpers shared by route modules: body decoding with content-type checks, rate-limit
 * enforcement and the per-request id.
 */
import { ApiError, Errors } from '../errors';
import type { HttpRequest } from '../uws-adapter';
import type { ServerContext } from '../app';
import { userKeyFromRequest } from '../privacy';
import { MAX_BODY_DEPTH, nestsDeeperThan } from '../schemas';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const YAML_TYPE = /^(?:application|text)\/(?:x-)?yaml\s*(?:;|$)/i;

/** The media type without parameters, lower-cased ("" when absent). */
export function mediaType(req: HttpRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isJson(req: HttpRequest): boolean {
  return JSON_TYPE.test(req.headers['content-type'] ?? '');
}

export function isYaml(req: HttpRequest): boolean {
  return YAML_TYPE.test(req.headers['content-type'] ?? '');
}

/** Decode the body as UTF-8 text; invalid byte sequences are a 400, not replacement characters. */
export function bodyText(req: HttpRequest): string {
  const body = req.body ?? Buffer.alloc(0);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw Errors.badJson('body is not valid UTF-8');
  }
}

/** Parse a JSON body, requiring a JSON content type (415 otherwise). */
export function jsonBody(req: HttpRequest): unknown {
  if (!isJson(req)) throw Errors.unsupportedMediaType(mediaType(req) || '(none)', 'application/json');
  const text = bodyText(req);
  if (text.trim() === '') throw Errors.badJson('body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw Errors.badJson((err as Error).message);
  }
  if (nestsDeeperThan(value, MAX_BODY_DEPTH)) throw Errors.validation(`body nests deeper than ${MAX_BODY_DEPTH} levels`);
  return value;
}

/** The rate-limit identity: X-User-ID when given, else the client address; always hashed. */
export function userKey(ctx: ServerContext, req: HttpRequest): string {
  return userKeyFromRequest(req.headers['x-user-id'], req.remoteAddress, ctx.config.hashSalt);
}

/** X-RateLimit-* headers decided for a request; weak, so they go with the request. */
const limitHeadersOf = new WeakMap<HttpRequest, Record<string, string>>();

/**
 * The X-RateLimit-* headers of a request that was counted (HttpServer.extraHeaders hook):
 * a 400 or 404 answer on a rate-limited route has used up quota too, so it says so.
 */
export function rateLimitHeaders(req: HttpRequest): Record<string, string> {
  return limitHeadersOf.get(req) ?? NO_HEADERS;
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Count the request against the user's limit. Returns the X-RateLimit-* headers to send;
 * throws 429 RATE_LIMITED with Retry-After when the user is over the limit or blocked.
 */
export function rateLimit(ctx: ServerContext, req: HttpRequest): Record<string, string> {
  if (!ctx.limiter) return {};
  const r = ctx.limiter.hit(userKey(ctx, req));
  const headers = {
    'X-RateLimit-Limit': String(r.limit),
    'X-RateLimit-Remaining': String(r.remaining),
    'X-RateLimit-Reset': String(r.resetSeconds),
  };
  limitHeadersOf.set(req, headers);
  if (!r.allowed) {
    ctx.metrics.rateLimited.inc();
    const retry = Math.max(1, Math.ceil(r.retryAfterSeconds ?? r.resetSeconds));
    const err = Errors.rateLimited(retry);
    throw new ApiError(err.code, err.status, err.message, undefined, { ...headers, 'Retry-After': String(retry) });
  }
  return headers;
}
