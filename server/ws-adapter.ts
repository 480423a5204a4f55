/**
 * The one place that touches uWebSockets.js's WebSocket surface (uws-adapter.ts has the
 * HTTP side). Protocol code sees a `WsConnection` that cannot be misused:
 *
 *  1. upgrade: `res.onAborted` first, everything copied out of `req` synchronously (the
 *     Sec-WebSocket-* headers included), the decision may be async, and the upgrade (or
 *     the refusal) is written inside `res.cork()` — uWS's UpgradeAsync example;
 *  2. a uWS WebSocket throws when touched after its close event, and results of async
 *     work arrive after it: every send checks a `closed` flag set by the close handler;
 *  3. message ArrayBuffers are neutered when the callback returns: decoded at once;
 *  4. every send is corked (one syscall per batch, and required after an await);
 *  5. uWS cuts a message longer than maxPayloadLength without a close frame (the client
 *     sees 1006), so uWS gets HARD_LIMIT_FACTOR × the configured limit and messages in
 *     between are refused here with a proper 1009 close;
 *  6. uWS *drops* a send once more than maxBackpressure bytes are buffered; the protocol
 *     pauses long before that (getBufferedAmount / drain), and a drop that happens anyway
 *     closes the connection with 1008 rather than silently losing an answer;
 *  7. shutdown: HttpServer.close() runs our hook, which lets each connection finish its
 *     work and end with 1001 (forced at the timeout).
 */
import uWS from 'uWebSockets.js';
import { toErrorBody, Errors } from './errors';
import { STATUS_TEXT, type HttpReply, type HttpRequest, type HttpServer } from './uws-adapter';

/** Close codes the server sends (RFC 6455 §7.4.1). */
export const CloseCode = {
  /** Normal closure (the client's own close is echoed with it). */
  NORMAL: 1000,
  /** Server shutting down. */
  GOING_AWAY: 1001,
  /** Policy violation: the client let more than the backpressure limit pile up unread. */
  POLICY: 1008,
  /** Message larger than the configured limit. */
  TOO_BIG: 1009,
  /** A server bug while handling a message. */
  INTERNAL: 1011,
} as const;

/** uWS's own cut-off, as a multiple of the configured message limit (see item 5 above). */
export const HARD_LIMIT_FACTOR = 4;

export type SendResult = 'sent' | 'buffered' | 'dropped' | 'closed';

export interface WsConnection {
  /** The upgrade request's id (X-Request-ID when sane). */
  readonly id: string;
  readonly closed: boolean;
  /** Bytes uWS holds for this client because the socket could not take them yet. */
  readonly bufferedAmount: number;
  /** Send a text frame. Never throws; 'closed' after the close event. */
  send(text: string): SendResult;
  /** Close with a close frame; a no-op when already closed. */
  end(code: number, reason: string): void;
}

export type UpgradeDecision<S> = { accept: S } | { refuse: HttpReply };

export interface WsHandlers<S> {
  /** Accept (with per-connection state) or refuse (with an HTTP reply). May be async. */
  upgrade(req: HttpRequest): UpgradeDecision<S> | Promise<UpgradeDecision<S>>;
  /** A message within the size limit; `text` is null for a binary frame that is not UTF-8. */
  message(conn: WsConnection, state: S, text: string | null): void;
  /** uWS flushed some buffered bytes (check conn.bufferedAmount). */
  drain?(conn: WsConnection, state: S): void;
  /** The connection is gone; conn.closed is already true. */
  close?(conn: WsConnection, state: S, code: number): void;
  /**
   * Server shutdown. The handler must end the connection, now or when its work is done;
   * the adapter ends it with 1001 at the timeout. Default: end now with 1001.
   */
  shutdown?(conn: WsConnection, state: S): void;
  /** A handler threw; the connection is closed with 1011 after this. */
  error?(err: unknown, conn: WsConnection): void;
}

export interface WsEndpointOptions {
  /** Largest message in bytes; larger ones close the connection with 1009. */
  maxMessageBytes: number;
  /** Seconds without traffic before uWS drops the connection (0 or 8..960); pings are sent automatically. */
  idleTimeoutSeconds: number;
  /** Buffered bytes beyond which uWS drops sends (the protocol's hard limit). */
  maxBackpressureBytes: number;
  /** Route label for the HttpServer response hook (metrics). Default: the pattern. */
  label?: string;
}

interface UserData<S> {
  state: S;
  request: HttpRequest;
  conn?: Connection;
}

class Connection implements WsConnection {
  closed = false;

  constructor(
    readonly id: string,
    private readonly ws: uWS.WebSocket<unknown>,
  ) {}

  get bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  send(text: string): SendResult {
    if (this.closed) return 'closed';
    let status = 1;
    this.ws.cork(() => {
      status = this.ws.send(text, false);
    });
    if (status === 2) {
      this.end(CloseCode.POLICY, 'backpressure limit exceeded');
      return 'dropped';
    }
    return status === 1 ? 'sent' : 'buffered';
  }

  end(code: number, reason: string): void {
    if (this.closed) return;
    // end() runs the close handler synchronously, which sets `closed`.
    this.ws.end(code, reason);
  }
}

export class WsEndpoint<S> {
  private readonly open = new Map<Connection, UserData<S>>();
  private closing = false;
  private emptyWaiters: (() => void)[] = [];

  constructor(
    private readonly http: HttpServer,
    private readonly pattern: string,
    private readonly opts: WsEndpointOptions,
    private readonly handlers: WsHandlers<S>,
  ) {
    const hardLimit = Math.min(opts.maxMessageBytes * HARD_LIMIT_FACTOR, 2 ** 31 - 1);
    http.app.ws<UserData<S>>(pattern, {
      maxPayloadLength: hardLimit,
      idleTimeout: opts.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: opts.maxBackpressureBytes,
      closeOnBackpressureLimit: 0,
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => {
        const data = ws.getUserData();
        const conn = new Connection(data.request.id, ws as uWS.WebSocket<unknown>);
        data.conn = conn;
        this.open.set(conn, data);
        if (this.closing) this.shutdownOne(conn, data);
      },
      message: (ws, message, isBinary) => {
        const data = ws.getUserData();
        const conn = data.conn!;
        if (message.byteLength > opts.maxMessageBytes) {
          conn.end(CloseCode.TOO_BIG, `message exceeds ${opts.maxMessageBytes} bytes`);
          return;
        }
        // Decode now: the ArrayBuffer is neutered when this callback returns. uWS has
        // already checked that text frames are UTF-8; binary ones are checked here.
        let text: string | null;
        if (!isBinary) text = Buffer.from(message).toString('utf8');
        else {
          try {
            text = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(message));
          } catch {
            text = null;
          }
        }
        this.guard(conn, () => handlers.message(conn, data.state, text));
      },
      drain: (ws) => {
        const data = ws.getUserData();
        if (data.conn && handlers.drain) this.guard(data.conn, () => handlers.drain!(data.conn!, data.state));
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        const conn = data.conn;
        if (!conn) return;
        conn.closed = true;
        this.open.delete(conn);
        try {
          handlers.close?.(conn, data.state, code);
        } catch (err) {
          handlers.error?.(err, conn);
        }
        if (this.open.size === 0 && this.emptyWaiters.length) for (const w of this.emptyWaiters.splice(0)) w();
      },
    });
    http.onClose((timeoutMs) => this.shutdown(timeoutMs));
  }

  get connections(): number {
    return this.open.size;
  }

  /** Run a handler; a throw is a server bug: report it and close with 1011. */
  private guard(conn: Connection, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.handlers.error?.(err, conn);
      conn.end(CloseCode.INTERNAL, 'internal error');
    }
  }

  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const startedAt = process.hrtime.bigint();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    // Copy everything out of req now: it is invalid after this function returns.
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    const request: HttpRequest = {
      method: 'GET',
      url: req.getUrl(),
      query: req.getQuery() ?? '',
      headers,
      params: [],
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      id: this.http.nextId(headers['x-request-id']),
    };
    const key = headers['sec-websocket-key'] ?? '';
    const protocol = headers['sec-websocket-protocol'] ?? '';
    const extensions = headers['sec-websocket-extensions'] ?? '';
    const label = this.opts.label ?? this.pattern;

    const refuse = (reply: HttpReply): void => {
      if (aborted) return;
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.cork(() => {
        res.writeStatus(STATUS_TEXT[reply.status] ?? String(reply.status));
        res.writeHeader('Content-Type', reply.contentType ?? 'application/json');
        res.writeHeader('X-Request-ID', request.id);
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
        res.end(body, true);
      });
      this.http.onResponse?.(request, reply, label, startedAt);
    };
    const fail = (err: unknown): void => {
      const { status, body, headers: h } = toErrorBody(err);
      refuse({ status, body, headers: h });
    };
    const decide = (d: UpgradeDecision<S>): void => {
      if (aborted) return;
      if ('refuse' in d) return refuse(d.refuse);
      const data: UserData<S> = { state: d.accept, request };
      res.cork(() => res.upgrade(data, key, protocol, extensions, context));
      this.http.onResponse?.(request, { status: 101, body: '' }, label, startedAt);
    };

    if (this.closing) return fail(Errors.notReady('server is shutting down'));
    let out: UpgradeDecision<S> | Promise<UpgradeDecision<S>>;
    try {
      out = this.handlers.upgrade(request);
    } catch (err) {
      return fail(err);
    }
    if (out instanceof Promise) out.then(decide, fail);
    else decide(out);
  }

  private shutdownOne(conn: Connection, data: UserData<S>): void {
    if (!this.handlers.shutdown) return conn.end(CloseCode.GOING_AWAY, 'server shutting down');
    this.guard(conn, () => this.handlers.shutdown!(conn, data.state));
  }

  /** Ask every connection to finish; after timeoutMs end the rest with 1001. */
  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const [conn, data] of [...this.open]) this.shutdownOne(conn, data);
    if (this.open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.emptyWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const conn of [...this.open.keys()]) conn.end(CloseCode.GOING_AWAY, 'server shutting down');
  }
}

/** Serve WebSockets at `pattern` on the server's uWS app. */
export function attachWebSocket<S>(http: HttpServer, pattern: string, opts: WsEndpointOptions, handlers: WsHandlers<S>): WsEndpoint<S> {
  return new WsEndpoint(http, pattern, opts, handlers);
}
