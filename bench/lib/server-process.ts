/**
 * The server under test as a child process: the BUILT server, started as `npm start` does
 * (server/runtime-settings.ts: `node <flags> dist/server/main.js`),
 * on a free port with a temp LMDB dir, so the load generator in this process and the
 * server do not share an event loop. Measures start-up to ready (spawn -> first
 * /health 200) and samples the child's resident memory (/proc/<pid>/status VmRSS) every
 * 200 ms while it runs; VmHWM (the kernel's own peak) is read at the end as a cross-check.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../engine/package-root';
import { SERVER_ENV, SERVER_NODE_FLAGS, SERVER_SCRIPT } from '../../server/runtime-settings';

/** The project root, from the sources (ts-node) and from a build in dist/ alike. */
export const ROOT = packageRoot();
export const SERVER_MAIN = path.join(ROOT, SERVER_SCRIPT);

export interface ServerProcessOptions {
  /** Environment added to the defaults (LLM keys, pool size...). */
  env?: Record<string, string>;
  /** Script to run with node; defaults to the built server. */
  script?: string;
  /**
   * Arguments for node before the script (e.g. ts-node's register hook, --cpu-prof),
   * after the ones the server is always started with (SERVER_NODE_FLAGS, as `npm start`).
   */
  nodeArgs?: string[];
  /** Arguments after the script. */
  args?: string[];
  /** Give up waiting for /health after this long. Default 60 s (the 3 s target is checked separately). */
  readyTimeoutMs?: number;
  /** Port to use; a free one is picked when absent. */
  port?: number;
}

export interface ServerProcess {
  pid: number;
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  dataDir: string;
  /** Spawn to first /health 200. */
  startupMs: number;
  /** Highest VmRSS seen by the 200 ms sampler, in MB. */
  rssPeakMb(): number;
  /** VmHWM of the child now (peak RSS over its life, kernel-kept), in MB; NaN when unreadable. */
  rssHwmMb(): number;
  /** CPU time used so far by the child's threads. */
  cpu(): CpuSnapshot;
  /** The last few KB the child wrote to stdout/stderr (for failure messages). */
  outputTail(): string;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the data dir. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** VmRSS / VmHWM of a process in MB, NaN when it is gone. */
export function procMemMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU time of a process in ms: its main thread (tid = pid) and all its other threads. */
export interface CpuSnapshot {
  mainMs: number;
  otherMs: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * utime + stime of every thread from /proc/<pid>/task/<tid>/stat. All Node threads are
 * named "node", so only the main thread (the event loop: HTTP, LMDB, JSON) can be told
 * apart; "other" is the pool's workers plus V8 and libuv helpers.
 */
export function cpuSnapshot(pid: number): CpuSnapshot {
  const out = { mainMs: 0, otherMs: 0 };
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return { mainMs: NaN, otherMs: NaN };
  }
  const msPerTick = 1000 / ticksPerSecond();
  for (const tid of tids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between readdir and read
    }
    // Fields after "(comm)": state is index 0, utime 11, stime 12 (stat fields 14 and 15).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(f[11]) + Number(f[12])) * msPerTick;
    if (tid === String(pid)) out.mainMs += ms;
    else out.otherMs += ms;
  }
  return out;
}

/** One GET with no keep-alive; resolves with the status, 0 on a connection error. */
export function getStatus(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Children still running, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const script = opts.script ?? SERVER_MAIN;
  if (!fs.existsSync(script)) throw new Error(`${path.relative(ROOT, script)} is missing: run "npm run build" first`);
  // No dots in the name: lmdb treats a path with an extension as a single file, not a directory.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opensesame-bench-'));
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = {
    // As `npm start` does: the server's start-up environment unless the caller's has its own.
    ...SERVER_ENV,
    ...(process.env as Record<string, string>),
    OPENSESAME_API_HOST: '127.0.0.1',
    OPENSESAME_API_PORT: String(port),
    OPENSESAME_DATA_DIR: dataDir,
    OPENSESAME_RATE_LIMIT_RPM: '0',
    OPENSESAME_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(opts.nodeArgs ?? []), script, ...(opts.args ?? [])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? -1 : null);
      live.delete(child);
      resolve();
    });
  });

  let peak = 0;
  const sample = () => {
    const v = procMemMb(child.pid!, 'VmRSS');
    if (v > peak) peak = v;
  };
  const sampler = setInterval(sample, 200);
  sampler.unref();

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      clearInterval(sampler);
      if (exited === undefined) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(force);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    })());

  const url = `http://127.0.0.1:${port}`;
  const deadline = started + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`server exited with ${exited} before it was ready:\n${tail}`);
    }
    if ((await getStatus(`${url}/health`, 500)) === 200) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`server not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const startupMs = performance.now() - started;
  sample();

  return {
    pid: child.pid!,
    port,
    url,
    dataDir,
    startupMs,
    rssPeakMb: () => peak,
    rssHwmMb: () => procMemMb(child.pid!, 'VmHWM'),
    cpu: () => cpuSnapshot(child.pid!),
    outputTail: () => tail,
    stop,
  };
}
