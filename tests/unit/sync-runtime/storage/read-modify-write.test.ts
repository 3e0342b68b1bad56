import { TableClient } from "@azure/data-tables";
import { beforeAll, describe, expect, it } from "vitest";
import { claimStorageAccount } from "../../../helpers/scenario-services";
import { StorageError } from "../../../../sync-runtime/src/core/errors";
import type { PowerAppEvent } from "../../../../sync-runtime/src/domain/records";
import { AppsTable } from "../../../../sync-runtime/src/storage/apps";
import { Checkpoints } from "../../../../sync-runtime/src/storage/checkpoints";

const CONTENT_TYPE = "Audit.General";
const APP = "7d2c9f0e-2f0f-4a8e-9d8e-1b2c3d4e5f60";

function launch(recordId: string, creationTime: string, userUpn: string): PowerAppEvent {
  return {
    kind: "launch",
    recordId,
    creationTime,
    appId: APP,
    appName: "Expenses",
    environmentId: "Default-1",
    userUpn,
    userKey: null,
    schema: "purview",
  };
}

/**
 * Two writers of one row, interleaved on purpose: the table as our writer sees it, where every
 * read is followed by `other`'s write of the same row (a second runtime, or a second blob of the
 * same app), so our conditional write meets a changed ETag. Real Azurite on both sides.
 */
function racedBy(
  table: TableClient,
  other: (partitionKey: string, rowKey: string) => Promise<void>,
  races: number,
): TableClient {
  let left = races;
  return new Proxy(table, {
    get(target, prop) {
      if (prop === "getEntity") {
        return async (partitionKey: string, rowKey: string, options?: object) => {
          const row = await target.getEntity(partitionKey, rowKey, options);
          if (left-- > 0) await other(partitionKey, rowKey);
          return row;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** The table, counting the calls of each method our writer makes. */
function counted(table: TableClient): { table: TableClient; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(table, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { table: proxy, calls };
}

describe("the ETag read-modify-write of a table row", () => {
  let connectionString: string;
  let n = 0;
  const freshTable = async () => {
    const table = TableClient.fromConnectionString(connectionString, `rmw${++n}`, {
      allowInsecureConnection: true,
    });
    await table.createTable();
    return table;
  };
  beforeAll(async () => {
    connectionString = await claimStorageAccount();
  });

  it("re-reads after a conflict, so a checkpoint another writer moved further never moves back", async () => {
    const table = await freshTable();
    await new Checkpoints(table).advance(
      CONTENT_TYPE,
      new Date("2026-05-20T00:00:00Z"),
      new Date(),
    );
    const further = new Date("2026-05-22T00:00:00Z");
    const raced = racedBy(
      table,
      () => new Checkpoints(table).advance(CONTENT_TYPE, further, new Date()).then(() => undefined),
      1,
    );
    const at = await new Checkpoints(raced).advance(
      CONTENT_TYPE,
      new Date("2026-05-21T00:00:00Z"),
      new Date(),
    );
    expect(at).toEqual(further);
    expect(await new Checkpoints(table).get(CONTENT_TYPE)).toEqual(further);
  });

  it("re-folds after a conflict, so neither writer's launch is lost", async () => {
    const table = await freshTable();
    const apps = new AppsTable(table);
    await apps.apply([launch("r1", "2026-05-20T09:00:00Z", "a@contoso.test")]);
    const raced = racedBy(
      table,
      () => apps.apply([launch("r3", "2026-05-20T11:00:00Z", "c@contoso.test")]),
      1,
    );
    await new AppsTable(raced).apply([
      { ...launch("r2", "2026-05-20T10:00:00Z", "b@contoso.test"), kind: "delete" },
    ]);
    const [state] = await apps.list();
    // The other writer's launch and our delete are both in the row.
    expect(state).toMatchObject({ lastLaunchId: "r3", deletedAt: "2026-05-20T10:00:00Z" });
  });

  it("writes an app it wrote before without reading it again, and skips a write that changes nothing", async () => {
    const { table, calls } = counted(await freshTable());
    const apps = new AppsTable(table);
    await apps.apply([launch("r1", "2026-05-20T09:00:00Z", "a@contoso.test")]);
    await apps.apply([launch("r2", "2026-05-20T10:00:00Z", "b@contoso.test")]);
    // One read (the row did not exist), one create, one conditional update.
    expect(calls).toMatchObject({ getEntity: 1, createEntity: 1, updateEntity: 1 });
    // The same launch again, and an older one: the row stands as it is.
    await apps.apply([launch("r2", "2026-05-20T10:00:00Z", "b@contoso.test")]);
    await apps.apply([launch("r0", "2026-05-20T08:00:00Z", "z@contoso.test")]);
    expect(calls).toMatchObject({ getEntity: 1, createEntity: 1, updateEntity: 1 });
    const [state] = await apps.list();
    expect(state).toMatchObject({ lastLaunchId: "r2", lastLaunchedBy: "b@contoso.test" });
  });

  it("reads a known app again when another writer changed it since, and loses neither update", async () => {
    const table = await freshTable();
    const ours = new AppsTable(table);
    await ours.apply([launch("r1", "2026-05-20T09:00:00Z", "a@contoso.test")]);
    // A second runtime (its own process, its own knowledge of the row) moves the app on.
    await new AppsTable(table).apply([launch("r3", "2026-05-20T11:00:00Z", "c@contoso.test")]);
    await ours.apply([
      { ...launch("r2", "2026-05-20T10:00:00Z", "b@contoso.test"), kind: "delete" },
    ]);
    const [state] = await ours.list();
    expect(state).toMatchObject({ lastLaunchId: "r3", deletedAt: "2026-05-20T10:00:00Z" });
  });

  it("forgets the least recently updated apps past its bound", async () => {
    const { table, calls } = counted(await freshTable());
    const apps = new AppsTable(table, 2);
    const of = (appId: string, recordId: string, at: string) => ({
      ...launch(recordId, at, "a@contoso.test"),
      appId,
    });
    await apps.apply([of("app-a", "a1", "2026-05-20T09:00:00Z")]);
    await apps.apply([of("app-b", "b1", "2026-05-20T09:00:00Z")]);
    await apps.apply([of("app-c", "c1", "2026-05-20T09:00:00Z")]);
    expect(calls.getEntity).toBe(3);
    // app-a was forgotten (read again), app-c is still known (not read).
    await apps.apply([of("app-a", "a2", "2026-05-20T10:00:00Z")]);
    await apps.apply([of("app-c", "c2", "2026-05-20T10:00:00Z")]);
    expect(calls.getEntity).toBe(4);
  });

  it("gives up after 5 conflicts in a row with a StorageError naming the row", async () => {
    const table = await freshTable();
    let minute = 0;
    const moveOn = () =>
      new Checkpoints(table)
        .advance(
          CONTENT_TYPE,
          new Date(Date.parse("2026-05-20T00:00:00Z") + ++minute * 60_000),
          new Date(),
        )
        .then(() => undefined);
    await moveOn();
    const attempt = new Checkpoints(racedBy(table, moveOn, 5)).advance(
      CONTENT_TYPE,
      new Date("2026-06-01T00:00:00Z"),
      new Date(),
    );
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
    await expect(attempt).rejects.toThrow(/could not advance Audit.General after 5 conflicting/);

    const apps = new AppsTable(await freshTable());
    let launches = 0;
    const launchAgain = () =>
      apps.apply([launch(`other${++launches}`, "2026-05-20T12:00:00Z", "d@contoso.test")]);
    await launchAgain();
    const update = new AppsTable(racedBy(apps["table"], launchAgain, 5)).apply([
      launch("ours", "2026-05-20T13:00:00Z", "e@contoso.test"),
    ]);
    await expect(update).rejects.toBeInstanceOf(StorageError);
    await expect(update).rejects.toThrow(`could not update app ${APP} after 5 conflicting`);
  });
});
