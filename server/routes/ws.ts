/**
 * The WebSocket protocol at GET /ws. Transport rules live in ws-adapter.ts; this file is
 * the message protocol:
 *
 *   client -> { type: "predict", id, ...POST /predict body }   { type: "ping", id? }
 *   server -> { type: "prediction", id, stage: "fast" | "final", ...response }
 *             { type: "error", id, code, message, details? }    { type: "pong", id? }
 *
 * Many predictions may be in flight per connection; each is answered when it finishes.
 * "fast" (the ranker's answer) is sent only when an LLM refinement follows it.
 *
 * Flow control, per connection:
 *
 *   message --> [paused?] --yes--> queue (QUEUE_LIMIT) --full--> error OVERLOADED
 *                  |no                  ^ drained by `drain` and by finished predictions
 *                  v                    |
 *   token bucket (RATE_LIMITED) -> parse -> in-flight cap (OVERLOADED) -> user limiter
 *   -> schema -> PredictService
 *
 * "paused" = uWS holds more than OPENSESAME_WS_BACKPRESSURE_BYTES unsent for this client
 * or older messages are still queued (order is kept). A client that stops reading can
 * make the server buffer at most: the threshold, plus answers of in-flight predictions,
 * plus small error frames, up to HARD_LIMIT_BYTES, where the connection closes with 1008.
 */
import type { ServerContext } from '../app';
import { ApiError, Errors, toErrorBody, withDetails, withHeaders } from '../errors';
import { check, MAX_BODY_DEPTH, nestsDeeperThan, validatePredict } from '../schemas';
import type { HttpRequest } from '../uws-adapter';
import { attachWebSocket, CloseCode, type WsConnection } from '../ws-adapter';
import { rateLimit } from './common';

/** Messages held while the client is not reading; further ones are answered OVERLOADED. */
export const QUEUE_LIMIT = 64;
/** uWS's maxBackpressure, as a multiple of the pause threshold (at least 1 MiB). */
const HARD_LIMIT_FACTOR = 16;
const MIN_HARD_LIMIT_BYTES = 1024 * 1024;
/** Longest string id echoed back. */
const MAX_ID_LENGTH = 128;

type MessageId = string | number | null;

interface Session {
  /** The upgrade request (copied), for the per-user rate limit and logs. */
  req: HttpRequest;
  seq: number;
  inFlight: number;
  tokens: number;
  refilledAt: number;
  queue: (string | null)[];
  shuttingDown: boolean;
  /** Aborted when the connection closes: cancels the LLM calls of its unanswered predictions. */
  closed: AbortController;
}

export function registerWsRoutes(ctx: ServerContext): void {
  const { config, http, logger, metrics } = ctx;
  const limits = config.ws;
  const rate = limits.ratePerSecond;
  const burst = Math.max(1, rate);

  const send = (conn: WsConnection, msg: Record<string, unknown>): void => {
    conn.send(JSON.stringify(msg));
  };

  const sendError = (conn: WsConnection, id: MessageId, err: unknown, route = 'message'): void => {
    const { status, body } = toErrorBody(err);
    if (status >= 500 && !(err instanceof ApiError)) logger.error({ err: String(err), connection: conn.id }, 'websocket message failed');
    metrics.requests.inc({ route: '/ws', method: route, status: String(status) });
    const e = body.error;
    send(conn, { type: 'error', id, code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) });
  };

  /** Token bucket: `rate` per second, burst `rate`. */
  const takeToken = (s: Session): boolean => {
    if (rate === 0) return true;
    const now = performance.now();
    s.tokens = Math.min(burst, s.tokens + ((now - s.refilledAt) / 1000) * rate);
    s.refilledAt = now;
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  };

  const paused = (conn: WsConnection, s: Session): boolean => s.queue.length > 0 || conn.bufferedAmount > limits.backpressureBytes;

  /**
   * Handle queued messages while the client keeps up. Answers arrive later than the
   * messages are handled, so the buffer alone would let a whole queue start at once:
   * queued work also waits for a free in-flight slot (finished predictions pump again).
   */
  const pump = (conn: WsConnection, s: Session): void => {
    while (s.queue.length > 0 && !conn.closed && conn.bufferedAmount <= limits.backpressureBytes && s.inFlight < limits.maxInFlight) {
      handle(conn, s, s.queue.shift()!);
    }
  };

  const finishIfShuttingDown = (conn: WsConnection, s: Session): void => {
    if (s.shuttingDown && s.inFlight === 0) conn.end(CloseCode.GOING_AWAY, 'server shutting down');
  };

  const handle = (conn: WsConnection, s: Session, text: string | null): void => {
    let msg: unknown;
    let parseError: string | undefined;
    if (text === null) parseError = 'binary message is not UTF-8';
    else {
      try {
        msg = JSON.parse(text);
      } catch (err) {
        parseError = (err as Error).message;
      }
    }
    const id = messageId(msg);
    if (!takeToken(s)) {
      metrics.rateLimited.inc();
      return sendError(conn, id, withDetails(Errors.rateLimited(Math.max(1, Math.ceil(1 / rate))), { scope: 'connection', limit_per_second: rate }));
    }
    if (parseError !== undefined) return sendError(conn, null, Errors.badJson(parseError));
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return sendError(conn, null, Errors.validation('message must be a JSON object'));
    if (nestsDeeperThan(msg, MAX_BODY_DEPTH)) return sendError(conn, id, Errors.validation(`message nests deeper than ${MAX_BODY_DEPTH} levels`));
    const m = msg as Record<string, unknown>;
    if (m.id !== undefined && id === null) return sendError(conn, null, Errors.validation(`"id" must be a string of at most ${MAX_ID_LENGTH} characters or a finite number`));
    switch (m.type) {
      case 'ping':
        return send(conn, id === null ? { type: 'pong' } : { type: 'pong', id });
      case 'predict':
        return predict(conn, s, m, id);
      default:
        return sendError(conn, id, Errors.validation(`unknown message type ${JSON.stringify(m.type) ?? 'undefined'}; expected "predict" or "ping"`));
    }
  };

  const predict = (conn: WsConnection, s: Session, m: Record<string, unknown>, id: MessageId): void => {
    if (id === null) return sendError(conn, null, Errors.validation('a predict message needs an "id" (string or number)'), 'predict');
    if (s.shuttingDown) return sendError(conn, id, Errors.notReady('server is shutting down'), 'predict');
    if (s.inFlight >= limits.maxInFlight) {
      return sendError(conn, id, withDetails(Errors.overloaded(), { reason: 'in_flight_limit', limit: limits.maxInFlight }), 'predict');
    }
    const { type: _type, id: _id, ...rest } = m;
    let body;
    try {
      rateLimit(ctx, s.req);
      body = check(validatePredict, rest);
    } catch (err) {
      return sendError(conn, id, err, 'predict');
    }
    s.inFlight++;
    const startedAt = performance.now();
    const requestId = `${s.req.id}.${++s.seq}`;
    ctx.predictor
      .predictJson(body, requestId, {
        onFast: (fast) => send(conn, { type: 'prediction', id, stage: 'fast', ...fast }),
        abortSignal: () => s.closed.signal,
      })
      .then(
        (final) => {
          metrics.requests.inc({ route: '/ws', method: 'predict', status: '200' });
          metrics.requestSeconds.observe({ route: '/ws predict' }, (performance.now() - startedAt) / 1000);
          // = JSON.stringify({ type, id, stage, ...response }) without parsing the response text.
          conn.send(`{"type":"prediction","id":${JSON.stringify(id)},"stage":"final",${final.slice(1)}`);
        },
        (err: unknown) => sendError(conn, id, err, 'predict'),
      )
      .finally(() => {
        s.inFlight--;
        pump(conn, s);
        finishIfShuttingDown(conn, s);
      });
  };

  attachWebSocket<Session>(
    http,
    '/ws',
    {
      maxMessageBytes: limits.maxMessageBytes,
      idleTimeoutSeconds: limits.idleTimeoutSeconds,
      maxBackpressureBytes: Math.max(MIN_HARD_LIMIT_BYTES, limits.backpressureBytes * HARD_LIMIT_FACTOR),
    },
    {
      upgrade: (req) => {
        try {
          rateLimit(ctx, req);
        } catch (err) {
          const { status, body, headers } = toErrorBody(err);
          return { refuse: { status, body, headers } };
        }
        const session: Session = {
          req,
          seq: 0,
          inFlight: 0,
          tokens: burst,
          refilledAt: performance.now(),
          queue: [],
          shuttingDown: false,
          closed: new AbortController(),
        };
        return { accept: session };
      },
      message: (conn, s, text) => {
        if (!paused(conn, s)) return handle(conn, s, text);
        if (s.queue.length >= QUEUE_LIMIT) {
          return sendError(conn, text === null ? null : messageId(tryParse(text)), withDetails(Errors.overloaded(), { reason: 'backpressure', queue_limit: QUEUE_LIMIT }));
        }
        s.queue.push(text);
        pump(conn, s);
      },
      drain: (conn, s) => pump(conn, s),
      close: (_conn, s) => {
        // Queued messages of a closed connection are never answered: nobody is listening,
        // and the LLM calls of its in-flight ones are cancelled.
        s.queue.length = 0;
        s.closed.abort();
      },
      shutdown: (conn, s) => {
        s.shuttingDown = true;
        // Queued messages are refused so the connection can close once in-flight work ends.
        for (const text of s.queue.splice(0)) sendError(conn, text === null ? null : messageId(tryParse(text)), Errors.notReady('server is shutting down'));
        finishIfShuttingDown(conn, s);
      },
      error: (err, conn) => logger.error({ err: err instanceof Error ? err.stack : String(err), connection: conn.id }, 'websocket handler failed'),
    },
  );

  // A plain GET (no Upgrade header) falls through uWS's ws route to here.
  http.route('get', '/ws', () => {
    throw withHeaders(Errors.upgradeRequired('/ws'), { Upgrade: 'websocket' });
  });
}

/** The message's id when it is a usable one, else null. */
function messageId(msg: unknown): MessageId {
  if (msg === null || typeof msg !== 'object') return null;
  const id = (msg as { id?: unknown }).id;
  if (typeof id === 'string' && id.length <= MAX_ID_LENGTH) return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  return null;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
