import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { claimStorageAccount } from "../helpers/scenario-services";

/**
 * Scenario tests share their worker's Azurite (tests/setup/scenario-services.ts); what keeps them
 * apart is that every claim gets an account of its own, even when claims race.
 */
describe("storage accounts of the shared Azurite", () => {
  it("are never handed out twice, and each holds only what was written to it", async () => {
    const claimed = await Promise.all(Array.from({ length: 8 }, () => claimStorageAccount()));
    const accounts = claimed.map((c) => /AccountName=(\w+);/.exec(c)![1]);
    expect(new Set(accounts).size).toBe(accounts.length);

    const [first, second] = claimed;
    const table = (connectionString: string) =>
      TableClient.fromConnectionString(connectionString, "checkpoints", {
        allowInsecureConnection: true,
      });
    await table(first).createTable();
    await table(first).upsertEntity({ partitionKey: "p", rowKey: "r", owner: "first" });
    // The same table name in another account does not exist until that account creates it.
    await expect(table(second).getEntity("p", "r")).rejects.toMatchObject({ statusCode: 404 });
    await table(second).createTable();
    await expect(table(second).getEntity("p", "r")).rejects.toMatchObject({ statusCode: 404 });
    expect((await table(first).getEntity<{ owner: string }>("p", "r")).owner).toBe("first");
  });
});
