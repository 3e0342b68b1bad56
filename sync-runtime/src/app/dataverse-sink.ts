import { LOG_EVENTS } from "../../contract";
import {
  isTransient,
  type DataverseClient,
  type DataverseWrite,
  type TooLong,
  type WriteResult,
} from "../clients/dataverse";
import { DataverseError } from "../core/errors";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { BatchSizer } from "../domain/batch-size";
import {
  APP_COLUMNS,
  APPS,
  appUpdate,
  AUDIT_LOGS,
  auditLogRow,
  coeAppOf,
  ENVIRONMENTS,
  keyFilter,
  userColumns,
  type CoeApp,
  type CoeUser,
} from "../domain/coe-rows";
import type { PowerAppEvent } from "../domain/records";
import type { RejectedEvent } from "../storage/dataverse-rejected";
import type { MissingDetails } from "../storage/dataverse-user-details";
import type { StorageOptions } from "../storage/options";
import { TaskPool } from "./pool";

/**
 * Dataverse's service protection limits, per user and web server over a sliding 5 minutes
 * (learn.microsoft.com, "Service protection API limits"): 6,000 requests, 1,200 s of combined
 * execution time, 52 concurrent requests. A `$batch` is one request toward the 6,000 (its
 * operations count toward the execution time), so the sink writes in large batches, as many
 * in flight as Dataverse's `x-ms-dop-hint` recommends; a 429 is waited out (Retry-After), and
 * while Dataverse says the requests run too long (the execution-time limit, a timeout) they carry
 * fewer rows.
 */
export const DATAVERSE_LIMITS = {
  /** Requests per minute the sink allows itself: 5,000 per 5 minutes, under the 6,000. */
  ratePerMinute: 1000,
  /** Batches in flight before Dataverse said otherwise (x-ms-dop-hint). */
  concurrency: 4,
  /** Batches in flight at most, whatever the hint: the 52 concurrent requests, with room to spare. */
  maxConcurrency: 16,
  /**
   * Writes per $batch (the Web API takes up to 1,000): where the sink starts and the most it
   * sends; fewer while Dataverse says its requests run too long (domain/batch-size.ts).
   */
  batchSize: 1000,
  /** Rows per UpsertMultiple (Microsoft suggests 100 to 1,000), adapted as batchSize is. */
  bulkSize: 1000,
  /**
   * The fewest rows per request however often Dataverse says requests run too long: 1,200 s of
   * execution over 6,000 requests is 200 ms a request, so requests much smaller than 100 rows
   * (a bulk row costs milliseconds, a $batch operation tens) would meet the number-of-requests
   * limit before the execution time, and move fewer rows per window than larger ones.
   */
  minBatchSize: 100,
  /** Events read from the outbox per round. */
  round: 4000,
  /** Keys per bulk read (`$filter` of `or`s), which keeps the URL short. */
  keysPerQuery: 100,
  /** How long a row read from admin_apps or admin_environments is trusted. */
  cacheMs: 5 * 60_000,
  /** Times an app's conditional update is read again and retried after a 412. */
  etagRetries: 3,
};

/**
 * The user details cache (AUDIT_DATAVERSE_USER_DETAILS): a profile changes rarely, and Update
 * Data (V2) reads it once per row, so a day's age is fresher than the dashboard needs; the size
 * bound keeps a tenant of hundreds of thousands of users from growing the process without end.
 */
export const USER_CACHE = { ageMs: 24 * 3_600_000, maxUsers: 50_000 };

/**
 * Rows written without their user's details because Graph failed are filled in by later drains:
 * at most `rowsPerDrain` of them per drain (after the new rows), for at most `maxAgeMs` after they
 * were written. A week outlasts the propagation of a new consent (minutes to hours) and a Graph
 * outage by far; a tenant whose Graph refuses for longer has a cause an admin must fix, and the
 * rows are then left as Update Data (V2) leaves a row whose user it cannot read.
 */
export const USER_DETAILS_RETRY = { maxAgeMs: 7 * 24 * 3_600_000, rowsPerDrain: 10_000 };

/** Where the sink reads users' details (clients/graph-users.ts in the runtime). */
export interface UserDirectory {
  /** The users by object id: details, or null for a user the directory does not know. */
  getUsers(ids: string[], signal?: AbortSignal): Promise<Map<string, CoeUser | null>>;
}

export interface DrainResult {
  launchesWritten: number;
  deletesApplied: number;
  /** Launches written without the app lookup: the app was still not in admin_apps after the hold. */
  launchesWithoutApp: number;
  /** Launches left in the outbox because their app is not yet in admin_apps (within the hold). */
  held: number;
  /** Deletes of apps admin_apps does not have: nothing to mark (the flow does the same). */
  deletesWithoutApp: number;
  appsUpdated: number;
  /** Events Dataverse refused for good, moved to the dead letters. */
  rejected: number;
  /** Events left in the outbox because Dataverse was throttling or failing past the retries. */
  deferred: number;
  /** Rows written earlier without their user's details (Graph failed) that now have them. */
  detailsFilled: number;
  /** Such rows given up on: still without details USER_DETAILS_RETRY.maxAgeMs after writing. */
  detailsAbandoned: number;
}

/** What the drain has done so far, for a progress line. */
export interface DrainProgress {
  /** Events handled so far (written, applied, rejected, held or deferred). */
  handled: number;
  /** Events in the outbox when the drain started. */
  total: number;
  result: DrainResult;
}

/** What the sink needs of its outbox (storage/dataverse-outbox.ts in the runtime). */
export interface SinkOutbox {
  /** Every pending event, `size` at a time, each page read after the previous one was handled. */
  pages(size: number, options?: { abortSignal?: AbortSignal }): AsyncIterable<PowerAppEvent[]>;
  remove(events: PowerAppEvent[]): Promise<void>;
  count(options?: { abortSignal?: AbortSignal }): Promise<number>;
}

/**
 * What the sink needs of its list of rows written without their user's details
 * (storage/dataverse-user-details.ts in the runtime).
 */
export interface SinkMissingDetails {
  add(
    rows: { userId: string; recordId: string }[],
    now: Date,
    options?: StorageOptions,
  ): Promise<void>;
  first(limit: number, options?: StorageOptions): Promise<MissingDetails[]>;
  olderThan(before: Date, options?: StorageOptions): Promise<MissingDetails[]>;
  remove(rows: MissingDetails[], options?: StorageOptions): Promise<void>;
}

/** What the sink needs of its dead letters (storage/dataverse-rejected.ts in the runtime). */
export interface SinkDeadLetters {
  add(rejected: RejectedEvent[], now: Date): Promise<void>;
}

export interface DataverseSinkDeps {
  client: DataverseClient;
  outbox: SinkOutbox;
  rejected: SinkDeadLetters;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** How long a launch of an app missing from admin_apps is held (default 48 h). */
  holdMs?: number;
  /** Given, the audit rows carry the users' details (AUDIT_DATAVERSE_USER_DETAILS). */
  users?: UserDirectory;
  /** Given with `users`, rows written while Graph failed get their details in later drains. */
  missingDetails?: SinkMissingDetails;
}

export interface DrainOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
}

interface Cached<T> {
  value: T;
  readAt: number;
}

/** What one round decided for its events. */
interface RoundOutcome {
  /** Events Dataverse now holds (or that need nothing): they leave the outbox. */
  done: PowerAppEvent[];
  rejected: RejectedEvent[];
  /** Launches written without their user's details because Graph failed. */
  withoutDetails: Set<PowerAppEvent>;
}

/**
 * Drains the outbox into the CoE tables, one walk through it per drain. Per round: reads the apps
 * and environments the events concern (in bulk, cached for a bounded time), upserts one
 * admin_auditlogs row per launch keyed by the record Id, moves admin_apps forward with an
 * ETag-conditional update, and removes from the outbox what Dataverse now has. A row Dataverse
 * refuses for good moves to the dead letters; a launch of an app not yet in admin_apps stays in
 * the outbox until the inventory adds it or the hold runs out; what a throttled or failing
 * Dataverse did not take stays for the next drain. Killed anywhere, the next drain writes the
 * rows still in the outbox again, which changes nothing.
 */
export class DataverseSink {
  private readonly apps = new Map<string, Cached<CoeApp | null>>();
  private readonly environments = new Map<string, Cached<string | null>>();
  private readonly users = new Map<string, Cached<CoeUser | null>>();
  private concurrency = DATAVERSE_LIMITS.concurrency;
  /** Rows per UpsertMultiple and per `$batch`, each following what Dataverse answers. */
  private readonly bulkSize = new BatchSizer({
    max: DATAVERSE_LIMITS.bulkSize,
    min: DATAVERSE_LIMITS.minBatchSize,
  });
  private readonly batchSize = new BatchSizer({
    max: DATAVERSE_LIMITS.batchSize,
    min: DATAVERSE_LIMITS.minBatchSize,
  });
  /** Whether admin_auditlogs offers UpsertMultiple and UpdateMultiple; absent until asked. */
  private readonly bulk = new Map<BulkMessage, boolean>();

  constructor(private readonly deps: DataverseSinkDeps) {}

  async drain(options: DrainOptions = {}): Promise<DrainResult> {
    const { signal, onProgress } = options;
    const { outbox, metrics, logger } = this.deps;
    const result: DrainResult = {
      launchesWritten: 0,
      deletesApplied: 0,
      launchesWithoutApp: 0,
      held: 0,
      deletesWithoutApp: 0,
      appsUpdated: 0,
      rejected: 0,
      deferred: 0,
      detailsFilled: 0,
      detailsAbandoned: 0,
    };
    this.expireCaches();
    const total = onProgress ? await outbox.count({ abortSignal: signal }) : 0;
    let handled = 0;
    try {
      for await (const events of outbox.pages(DATAVERSE_LIMITS.round, { abortSignal: signal })) {
        signal?.throwIfAborted();
        const outcome: RoundOutcome = { done: [], rejected: [], withoutDetails: new Set() };
        try {
          await this.writeRound(events, outcome, result, signal);
        } finally {
          // What Dataverse took leaves the outbox even when the round failed part-way: it is never sent again.
          await this.settle(outcome, result);
        }
        handled += events.length;
        onProgress?.({ handled, total, result: { ...result } });
      }
      // Only when Dataverse took the new rows: while it throttles, the detail updates wait.
      if (result.deferred === 0) await this.fillMissingDetails(result, signal);
    } finally {
      metrics.inc("audit_dataverse_rows_written_total", {}, result.launchesWritten);
      metrics.inc("audit_dataverse_launches_without_app_total", {}, result.launchesWithoutApp);
      metrics.inc("audit_dataverse_apps_updated_total", {}, result.appsUpdated);
      metrics.set("audit_dataverse_held", result.held);
    }
    logger.info("dataverse synced", { ...result });
    if (result.deferred > 0)
      throw new DataverseError({
        status: 503,
        message: `Dataverse did not take ${result.deferred} events past the retries (throttled or failing); they stay in the outbox table and are written next pass.`,
      });
    return result;
  }

  /** Moves the round's refused events to the dead letters, then removes what is done from the outbox. */
  private async settle(outcome: RoundOutcome, result: DrainResult): Promise<void> {
    const { outbox, rejected, metrics, logger, now } = this.deps;
    if (outcome.rejected.length) {
      await rejected.add(outcome.rejected, now());
      result.rejected += outcome.rejected.length;
      metrics.inc("audit_dataverse_rejected_total", {}, outcome.rejected.length);
      for (const r of outcome.rejected)
        logger.warn("Dataverse refused a row for good; it is in the dead letters", {
          event: LOG_EVENTS.dataverseRejected,
          recordId: r.event.recordId,
          kind: r.event.kind,
          appId: r.event.appId,
          entitySet: r.entitySet,
          status: r.status,
          dataverseCode: r.code,
          error: r.message,
          todo: "see `gaps`; fix the cause in Dataverse, then run `dataverse retry-rejected`",
        });
    }
    await this.rememberMissingDetails(outcome);
    const leaving = [...outcome.done, ...outcome.rejected.map((r) => r.event)];
    // Not stopped by the signal: a stop right after Dataverse took rows must still take them out
    // of the outbox, or the next pass would send them again.
    if (leaving.length) await outbox.remove(leaving);
  }

  private async writeRound(
    events: PowerAppEvent[],
    outcome: RoundOutcome,
    result: DrainResult,
    signal?: AbortSignal,
  ): Promise<void> {
    const byApp = new Map<string, PowerAppEvent[]>();
    for (const e of events) {
      const id = e.appId.toLowerCase();
      const list = byApp.get(id);
      if (list) list.push(e);
      else byApp.set(id, [e]);
    }
    const apps = await this.loadApps([...byApp.keys()], signal);
    const envIds = events.flatMap((e) =>
      e.kind === "launch" && e.environmentId ? [e.environmentId.toLowerCase()] : [],
    );
    const envNames = await this.loadEnvironments(envIds, signal);
    const users = await this.loadUsers(events, signal);
    const holdMs = this.deps.holdMs ?? 48 * 3_600_000;
    const nowMs = this.deps.now().getTime();

    // The audit rows first: an app's last launch moves only to launches Dataverse holds.
    const rows: { event: PowerAppEvent; write: DataverseWrite }[] = [];
    for (const [appId, appEvents] of byApp) {
      const app = apps.get(appId) ?? undefined;
      for (const e of appEvents) {
        if (e.kind === "delete") {
          if (!app) {
            result.deletesWithoutApp++;
            outcome.done.push(e);
          }
          continue;
        }
        if (!app && nowMs - Date.parse(e.creationTime) < holdMs) {
          result.held++;
          continue;
        }
        const environmentName = e.environmentId
          ? (envNames.get(e.environmentId.toLowerCase()) ?? undefined)
          : undefined;
        const user = (e.userKey && users.get(e.userKey.toLowerCase())) || undefined;
        rows.push({
          event: e,
          write: {
            entitySet: AUDIT_LOGS,
            id: e.recordId,
            body: auditLogRow(e, { app, environmentName, user }),
          },
        });
      }
    }
    const written = new Set<PowerAppEvent>();
    await this.sendAll("UpsertMultiple", rows, signal, (event, answer) => {
      if (answer.status < 300) {
        written.add(event);
        result.launchesWritten++;
        if (this.detailsFailed(event, users)) outcome.withoutDetails.add(event);
        if (!apps.get(event.appId.toLowerCase())) {
          // No admin_apps row to move forward: the launch is done.
          result.launchesWithoutApp++;
          outcome.done.push(event);
        }
        return;
      }
      if (answer.status === 404 && apps.get(event.appId.toLowerCase())) {
        // The lookup's target is gone (the inventory removed the app): read it again next round.
        this.apps.delete(event.appId.toLowerCase());
        result.deferred++;
        return;
      }
      this.refuseOrDefer(event, AUDIT_LOGS, answer, outcome, result);
    });

    // Then admin_apps, conditional on the ETag read, so that a run of the inventory flows in
    // between never moves it back.
    const updates = new Map<string, { app: CoeApp; events: PowerAppEvent[] }>();
    for (const [appId, appEvents] of byApp) {
      const app = apps.get(appId);
      if (!app) continue;
      const applied = appEvents.filter((e) => e.kind === "delete" || written.has(e));
      if (applied.length) updates.set(appId, { app, events: applied });
    }
    for (const events of (await this.updateApps(updates, outcome, result, signal)).values()) {
      outcome.done.push(...events);
      result.deletesApplied += events.filter((e) => e.kind === "delete").length;
    }
  }

  /**
   * Moves the apps' admin_apps rows forward for the events Dataverse took, in one batch, each
   * write with `If-Match` on the row's ETag; the apps answered 412 (changed meanwhile) are read
   * again in bulk and decided again. Returns the apps whose events are settled (written, nothing
   * to write, or the app gone); refused ones are in the dead letters, the others stay.
   */
  private async updateApps(
    updates: Map<string, { app: CoeApp; events: PowerAppEvent[] }>,
    outcome: RoundOutcome,
    result: DrainResult,
    signal?: AbortSignal,
  ): Promise<Map<string, PowerAppEvent[]>> {
    const settled = new Map<string, PowerAppEvent[]>();
    let pending = updates;
    for (let attempt = 0; pending.size > 0; attempt++) {
      if (attempt > DATAVERSE_LIMITS.etagRetries) {
        for (const { events } of pending.values()) result.deferred += events.length;
        break;
      }
      const writes: { appId: string; next: CoeApp; write: DataverseWrite }[] = [];
      for (const [appId, { app, events }] of pending) {
        const update = appUpdate(app, events);
        if (!update) settled.set(appId, events);
        else
          writes.push({
            appId,
            next: { ...app, ...update.next, etag: undefined },
            write: {
              entitySet: APPS,
              id: appId,
              body: update.body,
              ifMatch: app.etag ?? "*",
              returnRow: true,
            },
          });
      }
      const answers = writes.length
        ? await this.deps.client.batch(
            writes.map((w) => w.write),
            signal,
          )
        : [];
      const stale: string[] = [];
      answers.forEach((answer, k) => {
        const { appId, next } = writes[k];
        const events = pending.get(appId)!.events;
        if (answer.status < 300) {
          result.appsUpdated++;
          this.apps.set(appId, {
            value: answer.row ? coeAppOf(answer.row) : next,
            readAt: Date.now(),
          });
          settled.set(appId, events);
        } else if (answer.status === 412) stale.push(appId);
        else if (answer.status === 404) {
          // The app left admin_apps meanwhile: there is nothing to mark, as for the flow.
          this.apps.set(appId, { value: null, readAt: Date.now() });
          settled.set(appId, events);
        } else for (const e of events) this.refuseOrDefer(e, APPS, answer, outcome, result);
      });
      if (stale.length === 0) break;
      for (const id of stale) this.apps.delete(id);
      const fresh = await this.loadApps(stale, signal);
      const next = new Map<string, { app: CoeApp; events: PowerAppEvent[] }>();
      for (const id of stale) {
        const app = fresh.get(id);
        if (app) next.set(id, { app, events: pending.get(id)!.events });
        else settled.set(id, pending.get(id)!.events);
      }
      pending = next;
    }
    return settled;
  }

  /** A refused write's event goes to the dead letters; a throttled or failing one stays for later. */
  private refuseOrDefer(
    event: PowerAppEvent,
    entitySet: string,
    answer: WriteResult,
    outcome: RoundOutcome,
    result: DrainResult,
  ): void {
    if (isTransient(answer.status) || answer.status === 412) {
      result.deferred++;
      return;
    }
    if (answer.status === 401 || answer.status === 403)
      throw new DataverseError({
        status: answer.status,
        dataverseCode: answer.code,
        message: `Dataverse refused the sink's write (HTTP ${answer.status}${answer.code ? ` ${answer.code}` : ""}): ${answer.message ?? "access denied"}. Check the application user and its security role.`,
      });
    outcome.rejected.push({
      event,
      entitySet,
      status: answer.status,
      ...(answer.code !== undefined ? { code: answer.code } : {}),
      ...(answer.message !== undefined ? { message: answer.message } : {}),
    });
  }

  /**
   * Sends the audit rows, as many requests in flight as Dataverse recommends: `message` requests
   * (UpsertMultiple, or UpdateMultiple for writes that must never create a row) when the table
   * has the message (one request and a fifth of the execution time per row, all or nothing),
   * else `$batch` requests. A bulk request Dataverse refuses is sent again as a `$batch` of its
   * rows, each answered on its own, which finds the row it was about. The rows per request follow
   * what Dataverse answers (see BatchSizer): each request is cut when a slot frees, at the size of
   * that moment, and the rows of a request that ran too long and came back untaken go again in
   * smaller ones.
   */
  private async sendAll<T>(
    message: BulkMessage,
    writes: { event: T; write: DataverseWrite }[],
    signal: AbortSignal | undefined,
    onAnswer: (event: T, answer: WriteResult) => void,
  ): Promise<void> {
    const bulk = writes.length > 0 && (await this.bulkAvailable(message, signal));
    const sizer = bulk ? this.bulkSize : this.batchSize;
    const { client } = this.deps;
    const pool = new TaskPool(this.concurrency);
    // The hint of the answers so far (the round's reads among them) holds from the first write.
    this.followHint(pool);
    // A row whose request ran too long and came back untaken goes again in a smaller request, at
    // most as many times as halving takes the size from its maximum to its floor.
    const maxCuts = Math.ceil(Math.log2(sizer.max / sizer.min));
    const queue = writes.map((w) => ({ ...w, cuts: 0 }));
    let next = 0;
    do {
      while (next < queue.length && !pool.failed) {
        // The pool starts the task as soon as a slot is free, and the task cuts its slice before
        // its first await: the size is the one of that moment, not of when the last slot was taken.
        await pool.submit(async () => {
          const size = sizer.size;
          const slice = queue.slice(next, next + size);
          next += slice.length;
          let tooLong = false;
          const onTooLong = (why: TooLong) => {
            tooLong = true;
            this.smaller(sizer, size, why);
          };
          const batch = () =>
            client.batch(
              slice.map((w) => w.write),
              signal,
              onTooLong,
            );
          let answers: WriteResult[];
          if (!bulk) answers = await batch();
          else {
            const answer = await client[
              message === "UpsertMultiple" ? "upsertMultiple" : "updateMultiple"
            ](
              AUDIT_LOGS,
              AUDIT_LOG_ENTITY,
              slice.map((w) => ({ id: w.write.id, body: w.write.body })),
              signal,
              onTooLong,
            );
            answers =
              answer.status < 300 || isTransient(answer.status)
                ? slice.map(() => answer)
                : await batch();
          }
          if (!tooLong) this.deps.metrics.set("audit_dataverse_batch_size", sizer.answered(size));
          const again = tooLong && slice.length > sizer.size;
          answers.forEach((a, k) => {
            const w = slice[k];
            if (again && isTransient(a.status) && w.cuts < maxCuts)
              queue.push({ ...w, cuts: w.cuts + 1 });
            else onAnswer(w.event, a);
          });
          this.followHint(pool);
        });
      }
      // Tasks still running may put rows back: the loop goes on until none came back.
      await pool.drain();
    } while (next < queue.length);
  }

  /** Fewer rows per request from now on: a request cut at `size` ran too long. */
  private smaller(sizer: BatchSizer, size: number, why: TooLong): void {
    const before = sizer.size;
    const after = sizer.tooLong(size);
    this.deps.metrics.set("audit_dataverse_batch_size", after);
    if (after < before)
      this.deps.logger.info(
        "Dataverse says the sink's write requests run too long; it sends fewer rows per request",
        {
          why,
          rowsPerRequest: after,
          before,
        },
      );
  }

  /** Whether admin_auditlogs has the message, asked once (its sdkmessagefilters). */
  private async bulkAvailable(message: BulkMessage, signal?: AbortSignal): Promise<boolean> {
    const known = this.bulk.get(message);
    if (known !== undefined) return known;
    let has: boolean;
    try {
      has = await this.deps.client.hasMessage(AUDIT_LOG_ENTITY, message, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      // Asked again next drain; meanwhile $batch does the same work, only slower.
      this.deps.logger.warn("could not read sdkmessagefilters; writing with $batch", {
        error: err as Error,
      });
      return false;
    }
    this.bulk.set(message, has);
    this.deps.logger.info(
      has
        ? `admin_auditlogs has ${message}: the sink writes in bulk`
        : `admin_auditlogs lacks ${message}: the sink writes with $batch`,
    );
    return has;
  }

  /** Follows Dataverse's recommended parallelism (x-ms-dop-hint), within our own ceiling. */
  private followHint(pool: TaskPool): void {
    const hint = this.deps.client.dopHint;
    if (hint === undefined) return;
    this.concurrency = Math.max(1, Math.min(DATAVERSE_LIMITS.maxConcurrency, hint));
    pool.limit = this.concurrency;
  }

  /** Apps absent from admin_apps are asked about again every drain; others once their age ran out. */
  private expireCaches(): void {
    const oldest = Date.now() - DATAVERSE_LIMITS.cacheMs;
    for (const [id, c] of this.apps)
      if (c.value === null || c.readAt < oldest) this.apps.delete(id);
    for (const [id, c] of this.environments) if (c.readAt < oldest) this.environments.delete(id);
    const oldestUser = Date.now() - USER_CACHE.ageMs;
    for (const [id, c] of this.users) if (c.readAt < oldestUser) this.users.delete(id);
  }

  /**
   * The details of the launches' users (AUDIT_DATAVERSE_USER_DETAILS), those not cached read in
   * batches. Graph failing never holds the rows back: they are written without the details, the
   * failure counted and logged, and the users asked about again next round.
   */
  private async loadUsers(
    events: PowerAppEvent[],
    signal?: AbortSignal,
  ): Promise<Map<string, CoeUser | null>> {
    if (!this.deps.users) return new Map();
    const wanted = new Set<string>();
    for (const e of events)
      if (e.kind === "launch" && e.userKey && GUID.test(e.userKey))
        wanted.add(e.userKey.toLowerCase());
    return this.usersById(wanted, signal);
  }

  /**
   * The users' details (null: Graph does not know the user), cached or read in batches; the users
   * Graph failed to answer are absent, the failure counted and logged, never thrown.
   */
  private async usersById(
    wanted: Set<string>,
    signal?: AbortSignal,
  ): Promise<Map<string, CoeUser | null>> {
    const directory = this.deps.users;
    const found = new Map<string, CoeUser | null>();
    if (!directory) return found;
    const missing: string[] = [];
    for (const id of wanted) {
      const cached = this.users.get(id);
      if (cached) found.set(id, cached.value);
      else missing.push(id);
    }
    if (!missing.length) return found;
    let read: Map<string, CoeUser | null>;
    try {
      read = await directory.getUsers(missing, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      this.deps.metrics.inc("audit_dataverse_user_details_failures_total");
      this.deps.logger.warn(
        "could not read user details from Microsoft Graph; the rows go without them until a later drain reads them",
        {
          error: err as Error,
          users: missing.length,
          todo: "check the app's User.Read.All permission (stack config dataverseUserDetails) or set AUDIT_DATAVERSE_USER_DETAILS=false",
        },
      );
      return found;
    }
    const readAt = Date.now();
    for (const [id, user] of read) {
      found.set(id, user);
      this.users.set(id, { value: user, readAt });
    }
    // The oldest entries leave first (a Map keeps insertion order): the cache stays bounded.
    for (const id of this.users.keys()) {
      if (this.users.size <= USER_CACHE.maxUsers) break;
      this.users.delete(id);
    }
    return found;
  }

  /** Whether the launch's row went without its user's details because Graph failed to answer. */
  private detailsFailed(event: PowerAppEvent, users: Map<string, CoeUser | null>): boolean {
    return (
      this.deps.users !== undefined &&
      event.kind === "launch" &&
      event.userKey !== null &&
      GUID.test(event.userKey) &&
      !users.has(event.userKey.toLowerCase())
    );
  }

  /**
   * Notes the round's rows written without their user's details because Graph failed, for a later
   * drain to fill in: only those leaving the outbox (a launch that stays is written again, with
   * the details if Graph answers by then). Before the outbox forgets them, so a failure here
   * leaves them in the outbox, to be written again.
   */
  private async rememberMissingDetails(outcome: RoundOutcome): Promise<void> {
    const { missingDetails } = this.deps;
    if (!missingDetails || outcome.withoutDetails.size === 0) return;
    const rows = outcome.done
      .filter((e) => outcome.withoutDetails.has(e))
      .map((e) => ({ userId: e.userKey!.toLowerCase(), recordId: e.recordId.toLowerCase() }));
    if (rows.length) await missingDetails.add(rows, this.deps.now());
  }

  /**
   * After the new rows: fills in the user details of rows written earlier while Graph failed, up
   * to USER_DETAILS_RETRY.rowsPerDrain of them. Their users are read as the new rows' are (cached,
   * in batches); each row gets an update of its user columns only, `If-Match: *` (UpdateMultiple
   * when the table has it), and is then forgotten, as are the rows of users Graph no longer has
   * (deleted: the details stay empty, as Update Data (V2) leaves them) and rows gone from
   * Dataverse. Rows older than USER_DETAILS_RETRY.maxAgeMs are given up on, counted and logged.
   * Graph or Dataverse failing here only leaves the rows for the next drain: it never fails the
   * drain of new rows.
   */
  private async fillMissingDetails(result: DrainResult, signal?: AbortSignal): Promise<void> {
    const { missingDetails, users, metrics, logger, now } = this.deps;
    if (!missingDetails || !users) return;
    const options = { abortSignal: signal };
    try {
      const cutoff = new Date(now().getTime() - USER_DETAILS_RETRY.maxAgeMs);
      const expired = await missingDetails.olderThan(cutoff, options);
      if (expired.length) {
        await missingDetails.remove(expired, options);
        this.abandonDetails(
          expired.length,
          result,
          "Microsoft Graph did not give their users' details in time",
          "check the app's User.Read.All permission on Microsoft Graph (stack config dataverseUserDetails) and its admin consent",
        );
      }
      const rows = await missingDetails.first(USER_DETAILS_RETRY.rowsPerDrain, options);
      if (!rows.length) return;
      const found = await this.usersById(new Set(rows.map((r) => r.userId)), signal);
      const writes: { event: MissingDetails; write: DataverseWrite }[] = [];
      const settled: MissingDetails[] = [];
      for (const row of rows) {
        const user = found.get(row.userId);
        // Graph still failing (counted and logged by usersById): the row waits.
        if (user === undefined) continue;
        if (user === null) settled.push(row);
        else
          writes.push({
            event: row,
            write: {
              entitySet: AUDIT_LOGS,
              id: row.recordId,
              body: userColumns(user),
              ifMatch: "*",
            },
          });
      }
      let refused = 0;
      await this.sendAll("UpdateMultiple", writes, signal, (row, answer) => {
        if (answer.status < 300) result.detailsFilled++;
        else if (isTransient(answer.status)) return;
        // 404: the row left admin_auditlogs meanwhile; anything else is a refusal for good.
        else if (answer.status !== 404) refused++;
        settled.push(row);
      });
      if (settled.length) await missingDetails.remove(settled, options);
      if (refused)
        this.abandonDetails(
          refused,
          result,
          "Dataverse refused their update",
          "check the user columns of admin_auditlogs (a customised CoE install)",
        );
      metrics.inc("audit_dataverse_user_details_filled_total", {}, result.detailsFilled);
      if (result.detailsFilled)
        logger.info("filled in the user details of rows written while Graph failed", {
          rows: result.detailsFilled,
        });
    } catch (err) {
      if (signal?.aborted) throw err;
      // Storage or Dataverse failing: the rows stay listed; the gauge of them shows it.
      logger.warn(
        "could not fill in the user details of earlier rows; the next drain tries again",
        {
          error: err as Error,
        },
      );
    }
  }

  /** Rows given up on, forgotten already: counted, and logged with what to check. */
  private abandonDetails(rows: number, result: DrainResult, why: string, todo: string): void {
    result.detailsAbandoned += rows;
    this.deps.metrics.inc("audit_dataverse_user_details_given_up_total", {}, rows);
    this.deps.logger.warn(
      `gave up on the user details of ${rows} audit rows (they stay without): ${why}`,
      { rows, todo },
    );
  }

  /** The admin_apps rows of the apps (null: not there), read in bulk for those not cached. */
  private async loadApps(
    appIds: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, CoeApp | null>> {
    const rows = await this.bulkRead(this.apps, appIds, signal, async (ids) => {
      const found = await this.deps.client.query(
        APPS,
        { select: APP_COLUMNS, filter: keyFilter("admin_appid", ids) },
        signal,
      );
      return found.map((r) => [String(r.admin_appid).toLowerCase(), coeAppOf(r)] as const);
    });
    return rows;
  }

  /** The environments' display names (null: not in admin_environments), read in bulk. */
  private async loadEnvironments(
    envIds: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, string | null>> {
    return this.bulkRead(this.environments, envIds, signal, async (ids) => {
      const found = await this.deps.client.query(
        ENVIRONMENTS,
        {
          select: ["admin_environmentid", "admin_displayname"],
          filter: keyFilter("admin_environmentid", ids),
        },
        signal,
      );
      return found.map(
        (r) =>
          [
            String(r.admin_environmentid).toLowerCase(),
            typeof r.admin_displayname === "string" ? r.admin_displayname : null,
          ] as const,
      );
    });
  }

  /**
   * The cached values of the keys, after reading those not cached: a query per
   * DATAVERSE_LIMITS.keysPerQuery keys. A key that is not a GUID cannot be a row's key, so it is
   * absent without asking (and could not be put into a `$filter` unquoted).
   */
  private async bulkRead<T>(
    cache: Map<string, Cached<T | null>>,
    keys: string[],
    signal: AbortSignal | undefined,
    read: (ids: string[]) => Promise<(readonly [string, T])[]>,
  ): Promise<Map<string, T | null>> {
    const wanted = [...new Set(keys)];
    const missing = wanted.filter((k) => !cache.has(k));
    const asked = missing.filter((k) => GUID.test(k));
    const readAt = Date.now();
    for (let i = 0; i < asked.length; i += DATAVERSE_LIMITS.keysPerQuery) {
      signal?.throwIfAborted();
      const ids = asked.slice(i, i + DATAVERSE_LIMITS.keysPerQuery);
      const found = new Map(await read(ids));
      for (const id of ids) cache.set(id, { value: found.get(id) ?? null, readAt });
    }
    for (const k of missing) if (!cache.has(k)) cache.set(k, { value: null, readAt });
    return new Map(wanted.map((k) => [k, cache.get(k)!.value]));
  }
}

/** The bulk messages the sink sends to admin_auditlogs. */
type BulkMessage = "UpsertMultiple" | "UpdateMultiple";

/** The logical name of admin_auditlogs (its OData type and its sdkmessagefilters' table). */
const AUDIT_LOG_ENTITY = "admin_auditlog";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
