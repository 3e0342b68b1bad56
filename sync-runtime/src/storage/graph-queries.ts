import { odata, type TableClient } from "@azure/data-tables";
import { randomUUID } from "node:crypto";
import type { Interval } from "../domain/windows";
import type { StorageOptions } from "./options";

/** One row per query submission, keyed by its time: what the 24-hour budget counts. */
const SUBMISSIONS = "submission";
/** One row per day window: the query submitted for it, and whether its records are stored. */
const DAYS = "day";

interface SubmissionEntity {
  submittedAt: string;
  windowFrom: string;
  windowTo: string;
}

interface DayEntity {
  windowFrom: string;
  windowTo: string;
  queryId: string;
  submittedAt: string;
  /** "submitted": the query may still be running; "stored": every record of it is stored. */
  status: "submitted" | "stored";
  updatedAt: string;
}

/** What the runtime knows of one day window's query. */
export interface DayMark extends Interval {
  queryId: string;
  submittedAt: Date;
  stored: boolean;
}

/**
 * The Graph source's own ledger in Azure Storage, so that a restart forgets nothing it spent or
 * finished: every query submission of the last 24 hours (the tenant's budget is counted over a
 * rolling 24 hours, and a restarted runtime must not spend it twice), and per day window the
 * query submitted for it and whether its records are stored (a killed backfill re-attaches to a
 * query still running and skips the days it finished).
 */
export class GraphQueryLog {
  constructor(private readonly table: TableClient) {}

  /** Times of the submissions at or after `since`, oldest first. */
  async submissionsSince(since: Date, { abortSignal }: StorageOptions = {}): Promise<Date[]> {
    const times: Date[] = [];
    const filter = odata`PartitionKey eq ${SUBMISSIONS} and RowKey ge ${since.toISOString()}`;
    for await (const e of this.table.listEntities<SubmissionEntity>({
      queryOptions: { filter, select: ["submittedAt"] },
      abortSignal,
    })) {
      times.push(new Date(e.submittedAt));
    }
    return times.sort((a, b) => a.getTime() - b.getTime());
  }

  /**
   * Writes a submission before it is sent, so that a process killed between sending and
   * recording never forgets one; returns its key for `release`.
   */
  async reserve(at: Date, window: Interval, { abortSignal }: StorageOptions = {}): Promise<string> {
    const rowKey = `${at.toISOString()}_${randomUUID()}`;
    const entity: SubmissionEntity = {
      submittedAt: at.toISOString(),
      windowFrom: window.from.toISOString(),
      windowTo: window.to.toISOString(),
    };
    await this.table.createEntity(
      { partitionKey: SUBMISSIONS, rowKey, ...entity },
      { abortSignal },
    );
    return rowKey;
  }

  /** Gives a reserved submission back: Graph answered that it did not take the query. */
  async release(key: string, { abortSignal }: StorageOptions = {}): Promise<void> {
    await this.table.deleteEntity(SUBMISSIONS, key, { abortSignal }).catch((err) => {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    });
  }

  /** Deletes the submissions older than `before`: they no longer count. Returns how many. */
  async prune(before: Date, options: StorageOptions = {}): Promise<number> {
    return this.deleteBefore(SUBMISSIONS, before, options);
  }

  /** Deletes the marks of days starting before `before` (past the retention: never queried again). */
  async pruneDays(before: Date, options: StorageOptions = {}): Promise<number> {
    return this.deleteBefore(DAYS, before, options);
  }

  private async deleteBefore(
    partition: string,
    before: Date,
    { abortSignal }: StorageOptions,
  ): Promise<number> {
    const filter = odata`PartitionKey eq ${partition} and RowKey lt ${before.toISOString()}`;
    const keys: string[] = [];
    for await (const e of this.table.listEntities({
      queryOptions: { filter, select: ["RowKey"] },
      abortSignal,
    })) {
      keys.push(e.rowKey as string);
    }
    for (const key of keys) {
      await this.table.deleteEntity(partition, key, { abortSignal }).catch((err) => {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      });
    }
    return keys.length;
  }

  /** The marks of the day windows starting in [from, to). */
  async days(from: Date, to: Date, { abortSignal }: StorageOptions = {}): Promise<DayMark[]> {
    const filter = odata`PartitionKey eq ${DAYS} and RowKey ge ${from.toISOString()} and RowKey lt ${to.toISOString()}`;
    const marks: DayMark[] = [];
    for await (const e of this.table.listEntities<DayEntity>({
      queryOptions: { filter },
      abortSignal,
    })) {
      marks.push({
        from: new Date(e.windowFrom),
        to: new Date(e.windowTo),
        queryId: e.queryId,
        submittedAt: new Date(e.submittedAt),
        stored: e.status === "stored",
      });
    }
    return marks;
  }

  /** The query of a window was accepted: a process killed from now on can re-attach to it. */
  async submitted(
    mark: Omit<DayMark, "stored">,
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.write(mark, "submitted", now, options);
  }

  /** Every record of the window's query is stored: no later pass needs to query it again. */
  async stored(
    mark: Omit<DayMark, "stored">,
    now: Date,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.write(mark, "stored", now, options);
  }

  private async write(
    mark: Omit<DayMark, "stored">,
    status: DayEntity["status"],
    now: Date,
    { abortSignal }: StorageOptions,
  ): Promise<void> {
    const entity: DayEntity = {
      windowFrom: mark.from.toISOString(),
      windowTo: mark.to.toISOString(),
      queryId: mark.queryId,
      submittedAt: mark.submittedAt.toISOString(),
      status,
      updatedAt: now.toISOString(),
    };
    await this.table.upsertEntity(
      { partitionKey: DAYS, rowKey: mark.from.toISOString(), ...entity },
      "Replace",
      { abortSignal },
    );
  }
}
