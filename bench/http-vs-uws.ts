/**
 * The same pipeline behind two HTTP layers in ONE server process (bench/lib/dual-front.ts):
 * uWebSockets.js (the server's own front end) and node:http calling ctx.predictor.predict.
 * Identical autocannon loads run against each in turn — a repeated body (cache hits: the
 * HTTP layer dominates) and unique prompts (the pool dominates) — and the report gives
 * req/s and p50 of each and their ratios.
 *
 *   npm run bench:http-vs-uws [-- --duration 10 --warmup 3 --connections 32 --pool-size 2]
 */
import fs from 'node:fs';
import path from 'node:path';
import { baseSettings, cpuMeter, DEFAULT_CONNECTIONS, runScenario, serverEnv, startServerProcess, type CpuMetrics } from './lib/harness';
import { runHttpLoad, type LoadMetrics, type ResponseSample } from './lib/load';
import { sampleSummaries } from './lib/report';
import { freePort, getStatus, ROOT } from './lib/server-process';
import { uniquePrompt } from './lib/workload';

const CACHED_BODY = JSON.stringify({ prompt: 'create a new user account', max_predictions: 3 });

interface Run {
  front: 'uws' | 'node-http';
  load: 'cached' | 'uncached';
  metrics: LoadMetrics;
  cpu: CpuMetrics;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The dual-front child: its build when that is current (plain node, like the real
 * server), else the TypeScript source through ts-node, whose compiler then also counts in
 * the child's RSS.
 */
function dualFrontCommand(): { script: string; nodeArgs: string[]; viaTsNode: boolean } {
  const source = path.join(ROOT, 'bench', 'lib', 'dual-front.ts');
  const built = path.join(ROOT, 'dist', 'bench', 'lib', 'dual-front.js');
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= fs.statSync(source).mtimeMs) return { script: built, nodeArgs: [], viaTsNode: false };
  return { script: source, nodeArgs: ['-r', 'ts-node/register/transpile-only'], viaTsNode: true };
}

runScenario('http-vs-uws', 'One server process, one pipeline: uWS front end vs a node:http front end, identical loads.', async (args) => {
  const connections = args.connections ?? DEFAULT_CONNECTIONS;
  const httpPort = await freePort();
  const child = dualFrontCommand();
  const server = await startServerProcess({
    script: child.script,
    nodeArgs: child.nodeArgs,
    args: ['--http-port', String(httpPort)],
    env: serverEnv(args),
  });
  const fronts = { uws: server.url, 'node-http': `http://127.0.0.1:${httpPort}` } as const;
  try {
    for (let i = 0; (await getStatus(`${fronts['node-http']}/health`)) !== 200; i++) {
      if (i > 250) throw new Error(`node:http front end not answering on ${httpPort}:\n${server.outputTail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const runs: Run[] = [];
    const samples: ResponseSample[] = [];
    let offset = 0;
    // Interleaved (uws, http, uws, http) so slow drift in the machine's load hits both.
    for (const load of ['cached', 'uncached'] as const) {
      for (const front of ['uws', 'node-http'] as const) {
        // Each run gets its own range of prompt numbers: no run hits another's cache entries.
        const base = (offset += 10_000_000);
        const meter = cpuMeter(server);
        const res = await runHttpLoad({
          onMeasure: (edge) => (edge === 'start' ? meter.start() : meter.end()),
          url: fronts[front],
          body: load === 'cached' ? () => CACHED_BODY : (n) => ({ prompt: uniquePrompt(base + n), max_predictions: 3 }),
          connections,
          durationS: args.durationS,
          warmupS: args.warmupS,
        });
        runs.push({ front, load, metrics: res.metrics, cpu: meter.result(res.metrics.requests.total) });
        samples.push(...res.samples);
      }
    }
    const find = (front: Run['front'], load: Run['load']) => runs.find((r) => r.front === front && r.load === load)!;
    const get = (front: Run['front'], load: Run['load']) => find(front, load).metrics;
    const comparison = (['cached', 'uncached'] as const).map((load) => {
      const u = get('uws', load);
      const h = get('node-http', load);
      return {
        load,
        uws_req_s: u.requests.average,
        node_http_req_s: h.requests.average,
        req_s_ratio_uws_over_http: r2(u.requests.average / h.requests.average),
        // Closed-loop runs at saturation: these latencies are mostly queueing; compare the ratios.
        uws_p50_ms: u.latency.p50,
        node_http_p50_ms: h.latency.p50,
        p50_ratio_http_over_uws: r2(h.latency.p50 / u.latency.p50),
        uws_p99_ms: u.latency.p99,
        node_http_p99_ms: h.latency.p99,
        // Event-loop CPU per response: the HTTP layer's cost shows here even on a busy machine.
        uws_main_cpu_ms_per_req: find('uws', load).cpu.server_main_ms_per_req,
        node_http_main_cpu_ms_per_req: find('node-http', load).cpu.server_main_ms_per_req,
      };
    });
    const all = runs.map((r) => r.metrics);
    return {
      settings: { ...baseSettings(args, connections), runs: 'cached+uncached x uws+node-http, interleaved' },
      metrics: {
        errors_total: all.reduce((s, m) => s + m.errors_total, 0),
        // Only the worst response of all four runs is a common check; the rest is per run.
        latency_max: Math.max(...all.map((m) => m.latency.max)),
        startup_ms: Math.round(server.startupMs),
        rss_peak_mb: Math.round(server.rssPeakMb() * 10) / 10,
        rss_hwm_mb: Math.round(server.rssHwmMb() * 10) / 10,
        ...sampleSummaries(samples),
      },
      notes: [
        ...comparison.map(
          (c) =>
            `${c.load}: uWS ${c.uws_req_s} req/s p50 ${c.uws_p50_ms} ms vs node:http ${c.node_http_req_s} req/s p50 ${c.node_http_p50_ms} ms -> req/s x${c.req_s_ratio_uws_over_http}, p50 http/uws x${c.p50_ratio_http_over_uws}; main-thread CPU/req ${c.uws_main_cpu_ms_per_req} vs ${c.node_http_main_cpu_ms_per_req} ms`,
        ),
        ...(child.viaTsNode ? ['the child ran through ts-node (no current build of bench/lib/dual-front.ts): its RSS and start-up include the TypeScript compiler'] : []),
      ],
      extra: { comparison, runs },
    };
  } finally {
    await server.stop();
  }
});
