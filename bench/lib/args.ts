/**
 * Command-line flags shared by every load scenario. Defaults live in one frozen object
 * and each flag is validated with a message naming it, so a typo stops the run before a
 * server is started.
 *
 *   --duration <s>     measured phase (default 10)
 *   --warmup <s>       uncounted warm-up phase before it (default 5: V8 still tiers up the ONNX wasm and hot JS for the first seconds)
 *   --connections <n>  concurrent connections (default: the scenario's, usually 32)
 *   --pool-size <n>    OPENSESAME_POOL_SIZE of the server under test (default: its own)
 *   --rate <req/s>     offered load of the latency phase (default: the scenario's, bench/lib/targets.ts)
 */

export interface BenchArgs {
  /** Seconds of the measured phase. */
  durationS: number;
  /** Seconds of the warm-up phase (not counted). */
  warmupS: number;
  /** Concurrent connections; undefined: the scenario's default. */
  connections: number | undefined;
  /** Worker threads of the server under test; undefined: the server's default (core count). */
  poolSize: number | undefined;
  /** Offered load of the latency phase in req/s; undefined: the scenario's default. */
  rate: number | undefined;
}

export const DEFAULT_ARGS: Readonly<BenchArgs> = Object.freeze({
  durationS: 10,
  warmupS: 5,
  connections: undefined,
  poolSize: undefined,
  rate: undefined,
});

export class ArgsError extends Error {}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !/^\d+(\.\d+)?$/.test(raw)) throw new ArgsError(`--${name}: expected a number, got "${raw ?? ''}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new ArgsError(`--${name}: must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** Parse `argv` (without node and script); throws ArgsError naming the bad flag. */
export function parseArgs(argv: readonly string[]): Readonly<BenchArgs> {
  const out: BenchArgs = { ...DEFAULT_ARGS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.startsWith('--') ? flag.slice(2).split('=', 2) : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case 'duration':
        out.durationS = intFlag(name, value(), 1, 3600);
        break;
      case 'warmup':
        out.warmupS = intFlag(name, value(), 0, 600);
        break;
      case 'connections':
        out.connections = Math.round(intFlag(name, value(), 1, 10_000));
        break;
      case 'pool-size':
        out.poolSize = Math.round(intFlag(name, value(), 1, 256));
        break;
      case 'rate':
        out.rate = Math.round(intFlag(name, value(), 1, 1_000_000));
        break;
      default:
        throw new ArgsError(`unknown flag "${flag}" (known: --duration, --warmup, --connections, --pool-size, --rate)`);
    }
  }
  return Object.freeze(out);
}

/** The flags back as argv, to pass the same settings to child scenario runs. */
export function toArgv(args: Readonly<BenchArgs>): string[] {
  const out = ['--duration', String(args.durationS), '--warmup', String(args.warmupS)];
  if (args.connections !== undefined) out.push('--connections', String(args.connections));
  if (args.poolSize !== undefined) out.push('--pool-size', String(args.poolSize));
  if (args.rate !== undefined) out.push('--rate', String(args.rate));
  return out;
}
