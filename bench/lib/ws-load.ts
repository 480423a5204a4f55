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
 * A warm-up phase runs on the same connections first and is not counted. Then the
 * throughput phase (closed loop: each connection sends its next message when the last one
 * is answered, i.e. saturation) and, when `latencyRate` is given, the latency phase: the
 * same connections send at a fixed total rate (round-robin, open loop: several messages
 * may be in flight per connection), so latency is measured below capacity.
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
  /** Offered load of the latency phase, messages per second over all connections; undefined: none. */
  latencyRate?: number;
  /** Called right before and right after each measured phase (CPU accounting). */
  onMeasure?: (edge: 'start' | 'end', phase: 'throughput' | 'latency') => void;
}

export interface WsLoadMetrics {
  phase: 'throughput' | 'latency';
  /** Latency phase only: offered messages per second, and achieved / offered. */
  offered_rate?: number;
  achieved_ratio?: number;
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

export interface WsLoadResult {
  throughput: WsLoadMetrics;
  latency?: WsLoadMetrics;
}

const newCounters = () => ({ sent: 0, done: 0, errors: 0, timeouts: 0, errorReplies: 0, codes: {} as Record<string, number>, ml: [] as number[] });

export async function runWsLoad(o: WsLoadOptions): Promise<WsLoadResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const sampleEvery = o.sampleEvery ?? 10;
  const sockets = await Promise.all(Array.from({ length: o.connections }, () => connect(o.url)));
  let n = 0;
  let measuring = false;
  let sending = true;
  /** closed: a reply triggers the connection's next message; paced: a timer sends. */
  let paced = false;
  let lat = new LatencyRecorder();
  let latFast = new LatencyRecorder();
  let m = newCounters();
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
        if (!paced) sendNext();
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
      if (!paced) sendNext();
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
  /** Send for `seconds` (closed loop, or paced at `rate` messages/s), then stop and wait for every reply still due. */
  const phase = async (seconds: number, rate?: number) => {
    sending = true;
    paced = rate !== undefined;
    if (rate === undefined) {
      for (const start of starters) start();
      await new Promise((r) => setTimeout(r, seconds * 1000));
    } else {
      const t0 = performance.now();
      let sent = 0;
      let next = 0;
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const elapsed = (performance.now() - t0) / 1000;
          if (elapsed >= seconds) {
            clearInterval(tick);
            resolve();
            return;
          }
          for (let due = Math.floor(elapsed * rate) - sent; due > 0; due--, sent++) starters[next++ % starters.length]!();
        }, 1);
      });
    }
    sending = false;
    await waitIdle();
    drained = undefined;
  };

  const measured = async (which: 'throughput' | 'latency', rate?: number): Promise<WsLoadMetrics> => {
    m = newCounters();
    lat = new LatencyRecorder();
    latFast = new LatencyRecorder();
    measuring = true;
    o.onMeasure?.('start', which);
    const started = performance.now();
    await phase(o.durationS, rate);
    const elapsedS = (performance.now() - started) / 1000;
    o.onMeasure?.('end', which);
    measuring = false;
    const average = Math.round((m.done / elapsedS) * 100) / 100;
    return {
      phase: which,
      ...(rate !== undefined ? { offered_rate: rate, achieved_ratio: Math.round((average / rate) * 1000) / 1000 } : {}),
      requests: { average, total: m.done, sent: m.sent },
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
  };

  try {
    if (o.warmupS > 0) await phase(o.warmupS);
    const throughput = await measured('throughput');
    if (o.latencyRate === undefined) return { throughput };
    await new Promise((r) => setTimeout(r, 1000));
    return { throughput, latency: await measured('latency', o.latencyRate) };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}
