/**
 * A WebSocket load client (the `ws` package): N connections to /ws, each keeping one
 * predict message in flight (the WebSocket analogue of pipelining 1) and timing it from
 * send to the reply with the same id and stage "final" (or an error reply).
 *
 *   client -> { type: "predict", id, prompt, ... }
 *   server -> { type: "prediction", id, stage: "fast" }   (only when an LLM refines)
 *   server -> { type: "prediction", id, stage: "final", ... }
 *   server -> { type: "error", id, code, message }
 *
 * A warm-up phase runs on the same connections first and is not counted.
 */
import WebSocket from 'ws';
import { LatencyRecorder, type LatencySummary } from './stats';

export interface WsLoadOptions {
  /** ws://host:port/ws */
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** The message for number n (without type and id, which the client sets). */
  message: (n: number) => Record<string, unknown>;
  /** Give up on a message after this long (counted as a timeout). Default 10 s. */
  timeoutMs?: number;
  /** Read the server's timings from one in this many final replies. Default 10. */
  sampleEvery?: number;
  /** Called right before and right after the measured phase (CPU accounting). */
  onMeasure?: (phase: 'start' | 'end') => void;
}

export interface WsLoadMetrics {
  /** Final replies per second over the measured phase, their total, messages sent. */
  requests: { average: number; total: number; sent: number };
  /** Send -> final reply, ms, exact. */
  latency: LatencySummary;
  /** Send -> "fast" reply, when the server sent one. */
  latency_fast: LatencySummary;
  /** Connection errors and unexpected closes. */
  errors: number;
  timeouts: number;
  /** `{ type: "error" }` replies (the WebSocket counterpart of non-2xx). */
  error_replies: number;
  errors_total: number;
  error_codes: Record<string, number>;
  duration_s: number;
  connections: number;
  /** ml_scoring_latency_ms of sampled final replies. */
  mlScoringMs: number[];
}

interface Pending {
  sentAt: number;
  timer: NodeJS.Timeout;
}

/** Connect every client; rejects with the server's answer when /ws is not a WebSocket endpoint. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`GET ${new URL(url).pathname} answered HTTP ${res.statusCode} instead of upgrading to a WebSocket`));
      res.resume();
    });
    ws.once('error', reject);
  });
}

function metadataOf(msg: Record<string, any>): Record<string, any> | undefined {
  return msg.metadata ?? msg.prediction?.metadata ?? msg.response?.metadata ?? msg.result?.metadata;
}

export async function runWsLoad(o: WsLoadOptions): Promise<WsLoadMetrics> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const sampleEvery = o.sampleEvery ?? 10;
  const sockets = await Promise.all(Array.from({ length: o.connections }, () => connect(o.url)));
  let n = 0;
  let measuring = false;
  let sending = true;
  const lat = new LatencyRecorder();
  const latFast = new LatencyRecorder();
  const m = { sent: 0, done: 0, errors: 0, timeouts: 0, errorReplies: 0, codes: {} as Record<string, number>, ml: [] as number[] };
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const settle = () => {
    inFlight--;
    if (inFlight === 0 && drained) drained();
  };

  /** Wires one socket; returns its send loop's entry (called at the start of each phase). */
  const wire = (ws: WebSocket): (() => void) => {
    const pending = new Map<string, Pending & { counted: boolean }>();
    const sendNext = () => {
      if (!sending || ws.readyState !== WebSocket.OPEN) return;
      const id = `m${n}`;
      const body = { ...o.message(n++), type: 'predict', id };
      const timer = setTimeout(() => {
        pending.delete(id);
        if (measuring) m.timeouts++;
        settle();
        sendNext();
      }, timeoutMs);
      pending.set(id, { sentAt: performance.now(), timer, counted: measuring });
      inFlight++;
      if (measuring) m.sent++;
      ws.send(JSON.stringify(body));
    };
    ws.on('message', (data) => {
      const now = performance.now();
      let msg: Record<string, any>;
      try {
        msg = JSON.parse(data.toString()) as Record<string, any>;
      } catch {
        if (measuring) m.errors++;
        return;
      }
      const p = typeof msg.id === 'string' ? pending.get(msg.id) : undefined;
      if (!p) return;
      if (msg.type === 'prediction' && msg.stage === 'fast') {
        if (p.counted) latFast.record(now - p.sentAt);
        return;
      }
      clearTimeout(p.timer);
      pending.delete(msg.id);
      if (p.counted) {
        if (msg.type === 'error') {
          m.errorReplies++;
          const code = String(msg.code ?? 'UNKNOWN');
          m.codes[code] = (m.codes[code] ?? 0) + 1;
        } else {
          lat.record(now - p.sentAt);
          if (m.done++ % sampleEvery === 0) {
            const ml = metadataOf(msg)?.performance_metrics?.ml_scoring_latency_ms;
            if (typeof ml === 'number') m.ml.push(ml);
          }
        }
      }
      settle();
      sendNext();
    });
    const lost = () => {
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        settle();
      }
      if (pending.size && measuring) m.errors += pending.size;
      pending.clear();
    };
    ws.on('close', () => {
      if (sending && measuring) m.errors++;
      lost();
    });
    ws.on('error', () => undefined);
    return sendNext;
  };

  const starters = sockets.map(wire);
  const waitIdle = () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => (drained = r)));
  /** Send for `seconds`, then stop sending and wait for every reply still due. */
  const phase = async (seconds: number) => {
    sending = true;
    for (const start of starters) start();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    sending = false;
    await waitIdle();
    drained = undefined;
  };

  try {
    if (o.warmupS > 0) await phase(o.warmupS);
    measuring = true;
    o.onMeasure?.('start');
    const started = performance.now();
    await phase(o.durationS);
    const elapsedS = (performance.now() - started) / 1000;
    o.onMeasure?.('end');
    measuring = false;
    return {
      requests: { average: Math.round((m.done / elapsedS) * 100) / 100, total: m.done, sent: m.sent },
      latency: lat.summary(),
      latency_fast: latFast.summary(),
      errors: m.errors,
      timeouts: m.timeouts,
      error_replies: m.errorReplies,
      errors_total: m.errors + m.timeouts + m.errorReplies,
      error_codes: m.codes,
      duration_s: Math.round(elapsedS * 100) / 100,
      connections: o.connections,
      mlScoringMs: m.ml,
    };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}
