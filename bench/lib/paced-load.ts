/**
 * Open-loop HTTP load at a fixed offered rate, for the latency phase of the load
 * scenarios. autocannon cannot do this: its `overallRate` / `connectionRate` let every
 * connection send back to back until its quota for the current second is used up and then
 * wait for the next second, so "1,000 req/s" arrives as a burst at saturation at the top
 * of each second and the latencies measured are queueing again.
 *
 * Here request i is due at start + i / rate. A timer wakes every millisecond and sends what
 * is due on an idle keep-alive connection (a pool of `connections`; a request that finds
 * none waits for the first one free). Latency runs from the tick that found the request
 * due, not from when it was written, so time spent waiting for a connection counts (no
 * coordinated omission), while the timer's own sub-millisecond lateness does not. The client is a minimal HTTP/1.1 writer and parser over net.Socket (request
 * bytes built once per body, responses framed by Content-Length, which uWS always sends),
 * so it costs the shared cores little.
 */
import net from 'node:net';
import { LatencyRecorder } from './stats';
import type { LoadMetrics } from './load';

export interface PacedLoadOptions {
  /** Base URL, http://host:port. */
  url: string;
  path: string;
  headers: Record<string, string>;
  /** Body of the i-th request of this phase (a string is sent as is, anything else as JSON). */
  body: () => unknown;
  /** Requests per second. */
  rate: number;
  durationS: number;
  /** Keep-alive connections in the pool. */
  connections: number;
  /** Every response (status and body text), e.g. for sampling. */
  onResponse?: (status: number, text: string) => void;
  /** A response slower than this counts as a timeout and its connection is replaced. Default 10 s. */
  timeoutMs?: number;
}

interface InFlight {
  dueAt: number;
  timer: NodeJS.Timeout;
}

class Connection {
  socket: net.Socket;
  busy: InFlight | undefined;
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly done: (conn: Connection, status: number, text: string | undefined) => void,
  ) {
    this.socket = this.open();
  }

  private open(): net.Socket {
    const s = net.connect({ host: this.host, port: this.port, noDelay: true });
    s.on('data', (chunk) => this.onData(chunk));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket !== s) return;
      const wasBusy = this.busy !== undefined;
      this.buf = Buffer.alloc(0);
      this.socket = this.open();
      if (wasBusy) this.done(this, 0, undefined);
    });
    return s;
  }

  send(bytes: Buffer, req: InFlight): void {
    this.busy = req;
    this.socket.write(bytes);
  }

  /** Drop the connection (timeout): a fresh one replaces it. */
  reset(): void {
    this.busy = undefined;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) {
        // Not framed the way this client understands: count an error and start afresh.
        this.buf = Buffer.alloc(0);
        this.done(this, -1, undefined);
        this.socket.destroy();
        return;
      }
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      const text = this.buf.toString('utf8', end + 4, total);
      this.buf = this.buf.subarray(total);
      this.done(this, status, text);
    }
  }
}

export async function runPacedLoad(o: PacedLoadOptions): Promise<LoadMetrics> {
  const u = new URL(o.url);
  const host = u.hostname;
  const port = Number(u.port || 80);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const rec = new LatencyRecorder();
  const status_codes: Record<string, number> = {};
  let sent = 0;
  let total = 0;
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  let outstanding = 0;
  const headerText = Object.entries({ host: `${host}:${port}`, connection: 'keep-alive', ...o.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');

  const idle: Connection[] = [];
  /** Requests due but waiting for a free connection, oldest first. */
  const waiting: number[] = [];
  let drained: (() => void) | undefined;

  const finish = (conn: Connection, status: number, text: string | undefined) => {
    const req = conn.busy;
    if (!req) return;
    clearTimeout(req.timer);
    conn.busy = undefined;
    outstanding--;
    if (status <= 0 || text === undefined) errors++;
    else {
      total++;
      rec.record(performance.now() - req.dueAt);
      status_codes[status] = (status_codes[status] ?? 0) + 1;
      if (status < 200 || status >= 300) non2xx++;
      o.onResponse?.(status, text);
    }
    release(conn);
  };

  const release = (conn: Connection) => {
    const due = waiting.shift();
    if (due !== undefined) dispatch(conn, due);
    else {
      idle.push(conn);
      if (outstanding === 0 && drained) drained();
    }
  };

  const dispatch = (conn: Connection, dueAt: number) => {
    const b = o.body();
    const body = Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
    const bytes = Buffer.concat([Buffer.from(`POST ${o.path} HTTP/1.1\r\n${headerText}content-length: ${body.length}\r\n\r\n`, 'latin1'), body]);
    const timer = setTimeout(() => {
      if (!conn.busy) return;
      timeouts++;
      outstanding--;
      conn.reset();
      release(conn);
    }, timeoutMs);
    outstanding++;
    sent++;
    conn.send(bytes, { dueAt, timer });
  };

  const pool = Array.from({ length: o.connections }, () => new Connection(host, port, finish));
  await Promise.all(pool.map((c) => new Promise<void>((resolve, reject) => c.socket.once('connect', resolve).once('error', reject))));
  idle.push(...pool);

  const start = performance.now();
  const interval = 1000 / o.rate;
  const count = Math.floor(o.rate * o.durationS);
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < count && start + next * interval <= now) {
        // Timed from this tick, when the request is found due: the timer's own lateness
        // (up to ~1 ms) is the load generator's, not the server's; waiting for a free
        // connection from here on counts.
        const dueAt = now;
        next++;
        const conn = idle.pop();
        if (conn) dispatch(conn, dueAt);
        else waiting.push(dueAt);
      }
      if (next >= count) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, start + next * interval - performance.now())));
    };
    tick();
  });
  if (outstanding > 0 || waiting.length > 0) await new Promise<void>((r) => (drained = r));
  const elapsedS = (performance.now() - start) / 1000;
  for (const c of pool) {
    c.busy = undefined;
    c.socket.removeAllListeners('close');
    c.socket.destroy();
  }
  // Responses per second until the last one arrived: below the offered rate when the
  // server fell behind and the backlog drained after the schedule ended.
  const average = Math.round((total / Math.max(o.durationS, elapsedS)) * 100) / 100;
  return {
    phase: 'latency',
    offered_rate: o.rate,
    achieved_ratio: Math.round((average / o.rate) * 1000) / 1000,
    requests: { average, total, sent },
    latency: rec.summary(),
    errors: errors + timeouts,
    timeouts,
    non2xx,
    errors_total: errors + timeouts + non2xx,
    status_codes,
    duration_s: Math.round(elapsedS * 100) / 100,
    connections: o.connections,
    pipelining: 1,
  };
}
