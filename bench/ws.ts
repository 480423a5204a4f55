/**
 * WebSocket predictions: N connections to GET /ws, each with one predict message in flight,
 * unique prompts; latency is send -> the reply with stage "final" (bench/lib/ws-load.ts).
 *
 *   npm run bench:ws [-- --duration 10 --warmup 3 --connections 32 --pool-size 2]
 *
 * Targets: the uncached ML-path numbers (DESIGN.md) per message, plus the common checks.
 */
import { baseSettings, cpuMeter, DEFAULT_CONNECTIONS, runScenario, serverEnv, startServerProcess } from './lib/harness';
import { summarize } from './lib/stats';
import { uniquePrompt } from './lib/workload';
import { runWsLoad } from './lib/ws-load';

runScenario('ws', 'Unique-prompt predict messages over WebSocket /ws, one in flight per connection, timed to the "final" reply.', async (args) => {
  const connections = args.connections ?? DEFAULT_CONNECTIONS;
  // The per-connection token bucket (default 20 msg/s) is a guard against abusive clients;
  // like OPENSESAME_RATE_LIMIT_RPM for HTTP, it is off for a throughput test.
  const server = await startServerProcess({ env: serverEnv(args, { OPENSESAME_WS_RATE_PER_SECOND: '0' }) });
  try {
    const meter = cpuMeter(server);
    const { mlScoringMs, ...load } = await runWsLoad({
      onMeasure: (phase) => (phase === 'start' ? meter.start() : meter.end()),
      url: `${server.url.replace(/^http/, 'ws')}/ws`,
      connections,
      durationS: args.durationS,
      warmupS: args.warmupS,
      message: (n) => ({ prompt: uniquePrompt(n), max_predictions: 3 }),
    });
    const notes: string[] = [];
    if (Object.keys(load.error_codes).length) notes.push(`error replies: ${JSON.stringify(load.error_codes)}`);
    return {
      settings: { ...baseSettings(args, connections), in_flight_per_connection: 1, ws_rate_per_second: 'off' },
      metrics: {
        ...load,
        startup_ms: Math.round(server.startupMs),
        rss_peak_mb: Math.round(server.rssPeakMb() * 10) / 10,
        rss_hwm_mb: Math.round(server.rssHwmMb() * 10) / 10,
        ml_scoring: summarize(mlScoringMs),
        samples: mlScoringMs.length,
        cpu: meter.result(load.requests.total),
      },
      notes,
    };
  } finally {
    await server.stop();
  }
});
