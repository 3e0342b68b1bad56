/**
 * Record Ids this process has already written (confirmed by the sink), to count duplicates and
 * skip re-writing them. Bounded: the oldest Ids are forgotten first. Correctness never depends
 * on it — the tables' keys de-duplicate across restarts — it only saves writes and feeds the
 * metric. Ids are added only after their write succeeded, so a failed blob is written in full on
 * its retry.
 */
export class WrittenIds {
  private readonly ids = new Set<string>();
  // 100k Ids (about 12 MB) cover a week of a large tenant's Power Apps events.
  constructor(private readonly capacity = 100_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      this.ids.delete(this.ids.values().next().value as string);
    }
  }
}
