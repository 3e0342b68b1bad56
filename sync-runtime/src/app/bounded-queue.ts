/**
 * A FIFO between one producer and one consumer with room for `capacity` items: `put` waits while
 * it is full, `take` while it is empty. `close` ends it from either side: `put` then answers
 * false, and `take` answers undefined once the items left are taken.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError("capacity must be at least 1");
  }

  get length(): number {
    return this.items.length;
  }

  /** Adds an item, waiting for room; false when the queue is closed (the item is dropped). */
  async put(item: T): Promise<boolean> {
    // Bounded: every wake-up follows a take or the close.
    while (this.items.length >= this.capacity && !this.closed) await this.changed();
    if (this.closed) return false;
    this.items.push(item);
    this.wake();
    return true;
  }

  /** The next item, waiting for one; undefined when the queue is closed and empty. */
  async take(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed) await this.changed();
    const item = this.items.shift();
    this.wake();
    return item;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
