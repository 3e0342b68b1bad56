import { TableClient } from "@azure/data-tables";
import { beforeAll, describe, expect, it } from "vitest";
import { claimStorageAccount } from "../helpers/scenario-services";
import { MissingUserDetails } from "../../sync-runtime/src/storage/dataverse-user-details";

const USER_A = "aaaaaaaa-0000-4000-8000-000000000001";
const USER_B = "bbbbbbbb-0000-4000-8000-000000000002";
const record = (n: number) => `0000${String(n).padStart(4, "0")}-1111-4000-8000-000000000000`;

/**
 * The list of audit rows written without their user's details, on Azurite: idempotent by user
 * and record Id, transactions of at most 100 per user, read in bounded slices and by age, and
 * removal that survives rows another drain removed first.
 */
describe("the table of rows missing their user details", () => {
  let connectionString: string;
  let n = 0;
  const fresh = async () => {
    const table = TableClient.fromConnectionString(connectionString, `missing${++n}`, {
      allowInsecureConnection: true,
    });
    await table.createTable();
    return new MissingUserDetails(table);
  };
  beforeAll(async () => {
    connectionString = await claimStorageAccount();
  });

  it("keeps one row per user and record however often it is added, in any case", async () => {
    const missing = await fresh();
    const rows = Array.from({ length: 250 }, (_, i) => ({ userId: USER_A, recordId: record(i) }));
    const day1 = new Date("2026-03-05T00:00:00Z");
    await missing.add(rows, day1);
    // Again, upper case, with a second user: still one row each.
    await missing.add(
      [
        ...rows.slice(0, 120).map((r) => ({ ...r, userId: r.userId.toUpperCase() })),
        { userId: USER_B, recordId: record(1) },
      ],
      new Date("2026-03-06T00:00:00Z"),
    );
    expect(await missing.count()).toBe(251);
    const all = await missing.first(Infinity);
    expect(all).toHaveLength(251);
    expect(new Set(all.map((r) => `${r.userId}/${r.recordId}`)).size).toBe(251);
    expect(all.every((r) => r.userId === r.userId.toLowerCase())).toBe(true);
    // A row added again starts its age again.
    expect(all.filter((r) => r.since === day1.toISOString())).toHaveLength(130);
    expect(await missing.first(100)).toHaveLength(100);
    expect(await missing.olderThan(new Date("2026-03-05T12:00:00Z"))).toHaveLength(130);
  });

  it("removes rows even when some are already gone", async () => {
    const missing = await fresh();
    const rows = Array.from({ length: 30 }, (_, i) => ({ userId: USER_A, recordId: record(i) }));
    await missing.add(rows, new Date());
    const listed = await missing.first(Infinity);
    // Another drain removed the first ten meanwhile.
    await missing.remove(listed.slice(0, 10));
    await missing.remove(listed);
    expect(await missing.count()).toBe(0);
  });
});
