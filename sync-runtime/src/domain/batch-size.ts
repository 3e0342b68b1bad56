/**
 * How many rows one Dataverse write request (an UpsertMultiple or a `$batch`) carries. Microsoft's
 * guidance (learn.microsoft.com, Power Apps developer docs):
 * - "Use bulk operation messages", Number of records with standard tables: 1,000 records per
 *   request "is a reasonable place to start"; past the message size and time limits the whole
 *   request fails, and "the kinds of errors you may encounter can usually be addressed by sending
 *   fewer records with each request. We recommend that you include the ability to configure the
 *   number of entities sent so that you can adapt by sending fewer." Its Time limits section
 *   says to reduce the records per request before raising a timeout, and its SQL timeout error
 *   (0x80044151) "is likely to occur if the batch size of your request is too large".
 * - "Service protection API limits": the execution-time error (0x80072321) says "decrease number
 *   of concurrent requests or reduce the duration of requests"; "larger sized batches increase the
 *   chance you will encounter execution time limits"; and "gradually increase the rate you send
 *   requests until you begin to hit limits" (Retry-After then says when to send more).
 * So a sign that requests run too long halves the size (multiplicative decrease, down to a floor)
 * and a run of requests answered without one grows it back by a quarter at a time, never past the
 * configured size. Parallelism is not this class's business (x-ms-dop-hint decides it). Pure: the
 * caller reports what its requests met.
 */
export interface BatchSizeOptions {
  /** The configured size: where it starts and the most it grows back to. */
  max: number;
  /** The fewest rows per request, however often Dataverse pushes back (at most max). */
  min: number;
  /** Requests answered in a row, at the current size, before it grows. Default 8. */
  growAfter?: number;
}

export class BatchSizer {
  readonly max: number;
  readonly min: number;
  private readonly growAfter: number;
  private current: number;
  private streak = 0;

  constructor(options: BatchSizeOptions) {
    if (!(options.max >= 1)) throw new RangeError("max must be at least 1");
    this.max = Math.floor(options.max);
    this.min = Math.min(this.max, Math.max(1, Math.floor(options.min)));
    this.growAfter = Math.max(1, Math.floor(options.growAfter ?? 8));
    this.current = this.max;
  }

  /** Rows the next request carries. */
  get size(): number {
    return this.current;
  }

  /**
   * A request cut at `sentAt` rows per request (the size when it was cut, not its own length: the
   * last slice of a round is shorter) met a sign that requests run too long. Halves the size,
   * once for all the requests cut at the same size: those in flight meet the same limit, and
   * halving for each would fall to the floor at once. Returns the new size.
   */
  tooLong(sentAt: number): number {
    this.streak = 0;
    if (sentAt > this.current) return this.current;
    this.current = Math.max(this.min, Math.floor(sentAt / 2));
    return this.current;
  }

  /**
   * A request cut at `sentAt` rows per request was answered without such a sign. Only requests
   * cut at the current size count toward growing: one cut larger before a decrease proves nothing
   * about the smaller size. Returns the new size.
   */
  answered(sentAt: number): number {
    if (sentAt !== this.current || this.current >= this.max) return this.current;
    if (++this.streak < this.growAfter) return this.current;
    this.streak = 0;
    this.current = Math.min(this.max, this.current + Math.ceil(this.current / 4));
    return this.current;
  }
}
