/**
 * Small helpers shared by the offline command-line tools (train, generate-data).
 */
import cliProgress from 'cli-progress';

/** Reads a flag's value(s) while walking argv; every reader throws naming the flag. */
export interface FlagReader {
  flag: string;
  /** The next argument as text. */
  text(): string;
  /** The next argument as a finite number. */
  num(): number;
  /** The next argument as an integer >= min. */
  int(min: number): number;
}

/** Calls `handle` for each flag of argv; `handle` returns false for an unknown flag. */
export function readFlags(argv: readonly string[], handle: (r: FlagReader) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const text = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = Number(text());
      if (!Number.isFinite(v)) throw new Error(`${flag} needs a number`);
      return v;
    };
    const int = (min: number): number => {
      const v = Number(text());
      if (!Number.isInteger(v) || v < min) throw new Error(`${flag} needs an integer >= ${min}`);
      return v;
    };
    if (!handle({ flag, text, num, int })) throw new Error(`unknown flag ${flag}`);
  }
}

/** A progress bar on stderr, or undefined when quiet. `extra` adds a free-text field. */
export function progressBar(quiet: boolean, label: string, extra = false): cliProgress.SingleBar | undefined {
  if (quiet) return undefined;
  const format = `${label.padEnd(18)} [{bar}] {percentage}% | {value}/{total}${extra ? ' {extra}' : ''}`;
  return new cliProgress.SingleBar({ format, hideCursor: true }, cliProgress.Presets.shades_classic);
}
