/**
 * WebSocket predictions: N connections to GET /ws, unique prompts; latency is send -> the
 * reply with stage "final" (bench/lib/ws-load.ts). Throughput phase: one predict message
 * in flight per connection; latency phase: a fixed total rate (LATENCY_PHASE_RATE.ws).
 *
 *   npm run bench:ws [-- --duration 10 --warmup 3 --connections 32 --pool-size 2 --rate 1000]
 *
 * Targets: the uncached ML-path numbers (DESIGN.md) per message — throughput at
 * saturation, latency at the offered rate — plus the common checks.
 */
import { baseSettings, cpuMeter, DEFAULT_CONNECTIONS, offeredRate, runScenario, serverEnv, startServerProcess } from './lib/harness';
import { summarize } from './lib/stats';
import { LATENCY_PHASE_RATE } from './lib/targets';
import { uniquePrompt } from './lib/workload';
import { runWsLoad } from './lib/ws-load';

runScenario('ws', 'Unique-prompt predict messages over WebSocket /ws, timed to the "final" reply: one in flight per connection (throughput phase), then a fixed total rate (latency phase).', async (args) => {
  const connections = args.connections ?? DEFAULT_CONNECTIONS;
  const rate = offeredRate(args, LATENCY_PHASE_RATE.ws);
  // The per-connection token bucket (default 20 msg/s) is a guard against abusive clients;
  // like OPENSESAME_RATE_LIMIT_RPM for HTTP, it is off for a throughput test.
  const server = await startServerProcess({ env: serverEnv(args, { OPENSESAME_WS_RATE_PER_SECOND: '0' }) });
  try {
    const meters = { throughput: cpuMeter(server), latency: cpuMeter(server) };
    const res = await runWsLoad({
      onMeasure: (edge, phase) => (edge === 'start' ? meters[phase].start() : meters[phase].end()),
      url: `${server.url.replace(/^http/, 'ws')}/ws`,
      connections,
      durationS: args.durationS,
      warmupS: args.warmupS,
      latencyRate: rate,
      message: (n) => ({ prompt: uniquePrompt(n), max_predictions: 3 }),
    });
    const notes: string[] = [];
    const phases = [res.throughput, ...(res.latency ? [res.latency] : [])];
    for (const p of phases) if (Object.keys(p.error_codes).length) notes.push(`${p.phase} phase error replies: ${JSON.stringify(p.error_codes)}`);
    const strip = ({ mlScoringMs: _ml, ...rest }: (typeof phases)[number], which: 'throughput' | 'latency') => ({ ...rest, cpu: meters[which].result(rest.requests.total) });
    const ml = phases.flatMap((p) => p.mlScoringMs);
    return {
      settings: { ...baseSettings(args, connections, rate), in_flight_per_connection: '1 (throughput phase), paced (latency phase)', ws_rate_per_second: 'off' },
      metrics: {
        throughput_phase: strip(res.throughput, 'throughput'),
        ...(res.latency ? { latency_phase: strip(res.latency, 'latency') } : {}),
        errors_total: phases.reduce((s, p) => s + p.errors_total, 0),
        latency_max: Math.max(...phases.map((p) => p.latency.max)),
        startup_ms: Math.round(server.startupMs),
        rss_peak_mb: Math.round(server.rssPeakMb() * 10) / 10,
        rss_hwm_mb: Math.round(server.rssHwmMb() * 10) / 10,
        ml_scoring: summarize(ml),
        samples: ml.length,
      },
      notes,
    };
  } finally {
    await server.stop();
  }
});
