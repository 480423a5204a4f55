/**
 * How the server process is started: node flags and environment variables that must be in
 * place before node starts. V8 sizes its young generation, and glibc sets up its
 * allocator, when the process starts; neither can be changed from inside afterwards
 * (v8.setFlagsFromString of a heap size is ignored once the heap exists).
 *
 * One list, used by `npm start` (package.json), the Dockerfile's runtime stage and the
 * benchmark harness (bench/lib/server-process.ts), so the benchmarks measure the server
 * as it is deployed. test/deploy-files.test.ts checks that they agree.
 *
 * Measured with bench/ (figures in the notes of issue 7 and the README's benchmark
 * section):
 *  - MALLOC_ARENA_MAX=2: glibc gives threads that allocate at the same time arenas of
 *    their own, up to 8 per core, and keeps what was freed in each. The worker threads
 *    (ONNX and WASM set-up), V8's compiler and GC helpers and libuv's threads left tens of
 *    MB there: ~50 MB less resident under load with two.
 *  - --max-semi-space-size=4: the main thread's young generation. V8's default lets it
 *    grow to 2 x 16 MB under the request rate, and what a request allocates dies within
 *    the request (bar a few KB): a smaller one is collected more often, each time faster
 *    (~1 ms instead of ~3 ms), and keeps ~24 MB out of the resident set.
 *  - --single-threaded-gc: V8 collects on the thread that allocated instead of waking
 *    helper threads for every scavenge. On 2 cores those helpers took a core from the
 *    pool worker in the middle of a batch, and the requests queued behind it made the
 *    tail: p99 at 1,000 req/s 18-19 ms -> 9 ms (interleaved runs), with the same
 *    throughput within the run-to-run noise and ~40 % less helper-thread CPU.
 */

/** Node options the server process starts with, before the script. */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--single-threaded-gc'];

/** Environment the server process starts with; a value already set in the environment wins. */
export const SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The script `npm start` runs and the Dockerfile's CMD starts (relative to the package root). */
export const SERVER_SCRIPT = 'dist/server/main.js';

/** The `npm start` command line: POSIX sh, as npm runs scripts on Linux. */
export function startScript(): string {
  const env = Object.entries(SERVER_ENV).map(([k, v]) => `${k}=\${${k}:-${v}}`);
  return [...env, 'node', ...SERVER_NODE_FLAGS, SERVER_SCRIPT].join(' ');
}
