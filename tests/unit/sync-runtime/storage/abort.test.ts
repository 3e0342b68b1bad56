import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../../../demo/azurite";
import { Checkpoints } from "../../../../sync-runtime/src/storage/checkpoints";
import { EventsTable } from "../../../../sync-runtime/src/storage/events";
import type { StorageOptions } from "../../../../sync-runtime/src/storage/options";
import { Quarantine } from "../../../../sync-runtime/src/storage/quarantine";
import type { PowerAppEvent } from "../../../../sync-runtime/src/domain/records";

const event: PowerAppEvent = {
  kind: "launch",
  recordId: "0f6c1a52-5bb1-4f43-9f53-7d8b0b0e3c11",
  creationTime: "2026-05-20T10:00:00Z",
  appId: "7d2c9f0e-2f0f-4a8e-9d8e-1b2c3d4e5f60",
  appName: "Expenses",
  environmentId: "Default-1",
  userUpn: "a@contoso.test",
  userKey: null,
  schema: "purview",
};

/**
 * With the storage account gone (Azurite stopped: every connection refused), the Azure SDK
 * retries each call for seconds. A stop (SIGTERM, a lost lease) must not wait for that: the
 * signal goes to the SDK call, which ends at once.
 */
describe("a storage write when the pass is stopped", () => {
  let azurite: RunningAzurite;
  let writes: Record<string, (options: StorageOptions) => Promise<unknown>>;
  beforeAll(async () => {
    azurite = await startAzurite();
    const table = TableClient.fromConnectionString(azurite.connectionString, "aborts", {
      allowInsecureConnection: true,
    });
    await table.createTable();
    const container = BlobServiceClient.fromConnectionString(
      azurite.connectionString,
    ).getContainerClient("quarantine");
    await container.createIfNotExists();
    const events = new EventsTable(table, "launch");
    const checkpoints = new Checkpoints(table);
    const quarantine = new Quarantine(container);
    const item = {
      contentType: "Audit.General",
      contentId: "abc",
      contentUri: "https://api.test/abc",
      contentCreated: "2026-05-20T10:00:00Z",
      contentExpiration: "2026-05-27T10:00:00Z",
    };
    writes = {
      "an events transaction": (o) => events.write([event], o),
      "a checkpoint advance": (o) =>
        checkpoints.advance("Audit.General", new Date(), new Date(), o),
      "a quarantine upload": (o) =>
        quarantine.put(item, Buffer.from("x"), { reason: "r", status: 400, truncated: false }, o),
    };
    // Each write works while the account is up, so what follows is the stop, not a bad call.
    for (const write of Object.values(writes)) await write({});
    await azurite.stop();
  });
  afterAll(async () => azurite?.stop());

  it("without a stop, the SDK is still retrying a write after 1.5 s", async () => {
    const write = writes["an events transaction"]!({});
    write.catch(() => undefined);
    const pending = Symbol("pending");
    const first = await Promise.race([
      write.then(
        () => "settled",
        () => "settled",
      ),
      new Promise((r) => setTimeout(() => r(pending), 1500)),
    ]);
    expect(first).toBe(pending);
  });

  it.each(["an events transaction", "a checkpoint advance", "a quarantine upload"])(
    "%s ends within a second of the stop",
    async (name) => {
      const stop = new AbortController();
      const write = writes[name]!({ abortSignal: stop.signal });
      const settled = write.then(
        () => "resolved",
        () => "rejected",
      );
      await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = performance.now();
      stop.abort(new Error("received SIGTERM"));
      expect(await settled).toBe("rejected");
      expect(performance.now() - stoppedAt).toBeLessThan(1000);
    },
  );
});
