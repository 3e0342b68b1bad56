/**
 * Runs at most `limit` tasks at once. `submit` waits for a free slot (so a producer listing pages
 * cannot run ahead unboundedly); after the first failure no new task starts and `drain` throws it.
 */
export class TaskPool {
  private running = new Set<Promise<void>>();
  private firstError: { error: unknown } | undefined;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError("limit must be at least 1");
  }

  get failed(): boolean {
    return this.firstError !== undefined;
  }

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.firstError) return;
    const p: Promise<void> = task()
      .catch((error) => {
        this.firstError ??= { error };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
    if (this.firstError) throw this.firstError.error;
  }
}
