/**
 * Runs at most `limit` tasks at once. `submit` waits for a free slot (so a producer listing pages
 * cannot run ahead unboundedly); after the first failure no new task starts and `drain` throws it.
 * The limit may change while tasks run (adaptive concurrency): a lower one takes effect as tasks
 * finish, a higher one at the next submit. `onSettled` runs after each task has ended and its
 * failure, if any, is recorded (so `failed` is already true when it runs after a failure).
 */
export class TaskPool {
  private running = new Set<Promise<void>>();
  private firstError: { error: unknown } | undefined;
  private max = 1;

  constructor(
    limit: number,
    private readonly onSettled?: () => void,
  ) {
    this.limit = limit;
  }

  get limit(): number {
    return this.max;
  }

  set limit(limit: number) {
    if (!(limit >= 1)) throw new RangeError("limit must be at least 1");
    this.max = Math.floor(limit);
  }

  get failed(): boolean {
    return this.firstError !== undefined;
  }

  /** Tasks running now. */
  get size(): number {
    return this.running.size;
  }

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.max) await Promise.race(this.running);
    if (this.firstError) return;
    const p: Promise<void> = task()
      .catch((error) => {
        this.firstError ??= { error };
      })
      .finally(() => {
        this.running.delete(p);
        this.onSettled?.();
      });
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
    if (this.firstError) throw this.firstError.error;
  }
}
