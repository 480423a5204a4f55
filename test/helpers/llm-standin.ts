/**
 * Local stand-ins for the Anthropic Messages API and the OpenAI Chat Completions API,
 * for tests and benchmarks. A node:http server on 127.0.0.1, port 0, reached through the
 * real SDKs' baseURL:
 *
 *   protocol 'anthropic': POST /v1/messages          -> baseURL = standin.url
 *   protocol 'openai':    POST /v1/chat/completions  -> baseURL = `${standin.url}/v1`
 *
 * Each request is answered according to a Behaviour (fixed, or chosen per call by a
 * function of the request body and the 0-based call number). The shortlist is read from
 * the request (the `id` enum in the tool / json_schema, else the "- METHOD /path:" lines of
 * the user message), so `answer` can pick real ids.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  /** A well-formed structured answer. ids default to the first `count` (default: k) shortlist ids. */
  | { kind: 'answer'; ids?: string[]; count?: number; delayMs?: number; usage?: { input: number; output: number } }
  /** An HTTP error in the provider's error shape, with optional retry-after / retry-after-ms headers and message. */
  | { kind: 'status'; status: number; retryAfterS?: number; retryAfterMs?: number; delayMs?: number; message?: string }
  /** Accept the request and never answer (the connection is destroyed on close()). */
  | { kind: 'hang' }
  /** 'wrong-shape' (default): a valid response without the structured answer; 'invalid-json': a truncated body. */
  | { kind: 'garbage'; variant?: 'wrong-shape' | 'invalid-json'; usage?: { input: number; output: number } }
  /** An answer naming `id` (default 'DELETE /not/in/shortlist'), followed by the first real id unless onlyOutside. */
  | { kind: 'outside'; id?: string; onlyOutside?: boolean; usage?: { input: number; output: number } };

export type Protocol = 'anthropic' | 'openai';

export interface StandinCall {
  /** 0-based call number on this stand-in. */
  n: number;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** Ids parsed out of the request. */
  shortlist: string[];
  /** "Choose up to k", parsed out of the request (3 when absent). */
  k: number;
  /** The behaviour applied. */
  behaviour: Behaviour;
  /** The caller closed the request before it was answered (a cancelled or timed-out call). */
  abandoned: boolean;
}

export interface StandinOptions {
  protocol: Protocol;
  behaviour: Behaviour | ((reqBody: any, n: number) => Behaviour);
}

export interface Standin {
  /** http://127.0.0.1:port (no trailing slash). */
  url: string;
  /** Every request received, in order. */
  calls: StandinCall[];
  close(): Promise<void>;
}

const PATHS: Record<Protocol, string> = { anthropic: '/v1/messages', openai: '/v1/chat/completions' };

export function startStandin(opts: StandinOptions): Promise<Standin> {
  const calls: StandinCall[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let n = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || req.url?.split('?')[0] !== PATHS[opts.protocol]) {
        return sendJson(res, 404, errorBody(opts.protocol, 404, `no route ${req.method} ${req.url}`));
      }
          let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        return sendJson(res, 400, errorBody(opts.protocol, 400, 'body is not JSON'));
      }
      const i = n++;
      const behaviour = typeof opts.behaviour === 'function' ? opts.behaviour(body, i) : opts.behaviour;
      const shortlist = parseShortlist(body);
      const k = parseK(body);
      const call: StandinCall = { n: i, path: req.url ?? '', headers: req.headers, body, shortlist, k, behaviour, abandoned: false };
      calls.push(call);
      res.on('close', () => {
        if (!res.writableEnded) call.abandoned = true;
      });
      if (behaviour.kind === 'hang') return;
      const delay = 'delayMs' in behaviour ? (behaviour.delayMs ?? 0) : 0;
      const respond = (): void => {
        if (res.destroyed || res.writableEnded) return;
        reply(opts.protocol, res, behaviour, body, text.length, shortlist, k, i);
      };
      if (delay <= 0) return respond();
      const t = setTimeout(() => {
        timers.delete(t);
        respond();
      }, delay);
      timers.add(t);
      // The client gave up (deadline): drop the pending answer.
      res.on('close', () => {
        clearTimeout(t);
        timers.delete(t);
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        calls,
        close: () =>
          new Promise<void>((done) => {
            for (const t of timers) clearTimeout(t);
            timers.clear();
            server.close(() => done());
            // Hanging and keep-alive connections would keep close() waiting forever.
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(protocol: Protocol, status: number, message: string): unknown {
  if (protocol === 'anthropic') {
    const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: null } };
}

function parseShortlist(body: any): string[] {
  const schema = body?.tools?.[0]?.input_schema ?? body?.response_format?.json_schema?.schema;
  const ids = schema?.properties?.predictions?.items?.properties?.id?.enum;
  if (Array.isArray(ids) && ids.every((x: unknown) => typeof x === 'string')) return ids as string[];
  const out: string[] = [];
  for (const line of userText(body).split('\n')) {
    const m = /^- ([A-Z]+ \/\S*?):/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

function parseK(body: any): number {
  const m = /Choose up to (\d+)/.exec(userText(body));
  return m ? Number(m[1]) : 3;
}

function userText(body: any): string {
  const msgs: unknown[] = Array.isArray(body?.messages) ? body.messages : [];
  return msgs
    .map((m) => {
      const c = (m as { content?: unknown }).content;
      if (typeof c === 'string') return c;
      if (Array.isArray(c)) return c.map((b: { text?: unknown }) => (typeof b?.text === 'string' ? b.text : '')).join('\n');
      return '';
    })
    .join('\n');
}

function reply(
  protocol: Protocol,
  res: http.ServerResponse,
  b: Behaviour,
  body: any,
  bodyChars: number,
  shortlist: string[],
  k: number,
  n: number,
): void {
  if (b.kind === 'status') {
    const headers: Record<string, string> = {};
    if (b.retryAfterS !== undefined) headers['retry-after'] = String(b.retryAfterS);
    if (b.retryAfterMs !== undefined) headers['retry-after-ms'] = String(b.retryAfterMs);
    return sendJson(res, b.status, errorBody(protocol, b.status, b.message ?? `stand-in status ${b.status}`), headers);
  }
  if (b.kind === 'garbage' && b.variant === 'invalid-json') return sendJson(res, 200, '{"id": "msg_trunc');
  let ids: string[];
  if (b.kind === 'answer') ids = b.ids ?? shortlist.slice(0, b.count ?? k);
  else if (b.kind === 'outside') ids = [b.id ?? 'DELETE /not/in/shortlist', ...(b.onlyOutside || shortlist.length === 0 ? [] : [shortlist[0]])];
  else ids = [];
  const usage = ('usage' in b && b.usage) || { input: Math.ceil(bodyChars / 4), output: 20 + 30 * ids.length };
  const wrongShape = b.kind === 'garbage';
  const model = typeof body?.model === 'string' ? body.model : 'stand-in';
  if (protocol === 'anthropic') {
    const predictions = ids.map((id, i) => ({ id, confidence: round(0.9 - i * 0.1), reasoning: 'stand-in choice', parameters: {} }));
    const content = wrongShape
      ? [{ type: 'text', text: 'I would call GET /users next.' }]
      : [{ type: 'tool_use', id: `toolu_standin_${n}`, name: body?.tool_choice?.name ?? 'choose_endpoints', input: { predictions } }];
    return sendJson(res, 200, {
      id: `msg_standin_${n}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: wrongShape ? 'end_turn' : 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  }
  const predictions = ids.map((id, i) => ({ id, confidence: round(0.9 - i * 0.1), reasoning: 'stand-in choice', parameters: [] }));
  return sendJson(res, 200, {
    id: `chatcmpl-standin-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: wrongShape ? 'GET /users, probably.' : JSON.stringify({ predictions }), refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
  });
}

function round(v: number): number {
  return Math.max(0, Math.round(v * 100) / 100);
}
