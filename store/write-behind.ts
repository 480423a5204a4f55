/**
 * Write-behind batching for the cache databases. lmdb-js commits the writes issued in one
 * event-loop turn as one transaction, but under load the prediction and embedding caches
 * were written from a separate turn per request, so each request paid for its own commit
 * (and its sync to disk on a libuv thread: ~0.15 ms of CPU per uncached request, ~15 % of
 * the server's). Queued writes are issued together every `delayMs` (or at once when
 * `maxOps` are waiting), which makes them one transaction.
 *
 * Callers still get a promise that resolves when their write is committed; reads of a
 * write not yet committed are the caller's business (TtlCache keeps such records in its
 * `pending` map).
 */
export class WriteBehind {
  private ops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly maxOps: number,
  ) {}

  /** Number of writes waiting for the next flush. */
  get size(): number {
    return this.ops.length;
  }

  /** Queues `write` (an lmdb put); resolves or rejects as it does once issued. */
  add<T>(write: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.ops.push(() => {
        try {
          write().then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
      if (this.ops.length >= this.maxOps) this.flush();
      // Not unref'd: someone may be awaiting this write, and it must happen before exit.
      else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.delayMs);
    });
  }

  /** Issues every queued write now, in order (one lmdb transaction). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const ops = this.ops;
    if (ops.length === 0) return;
    this.ops = [];
    for (const op of ops) op();
  }
}
