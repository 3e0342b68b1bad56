import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { startAzurite } from "../../../demo/azurite";

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return false;
  } catch {
    return true;
  }
}

describe("startAzurite", () => {
  it("serves blob and table on free ports, then stops and removes its temp folder", async () => {
    const azurite = await startAzurite();
    try {
      expect(azurite.blobEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      expect(azurite.tableEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobEndpoint};`);
      expect(azurite.connectionString).toContain(`TableEndpoint=${azurite.tableEndpoint};`);
      expect(existsSync(azurite.location)).toBe(true);

      const container = BlobServiceClient.fromConnectionString(
        azurite.connectionString,
      ).getContainerClient("probe");
      await container.create();
      await container.getBlockBlobClient("a.txt").upload("hello", 5);
      expect((await container.getBlobClient("a.txt").downloadToBuffer()).toString()).toBe("hello");

      const table = TableClient.fromConnectionString(azurite.connectionString, "probe", {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.upsertEntity({ partitionKey: "p", rowKey: "r", n: 1 });
      expect((await table.getEntity<{ n: number }>("p", "r")).n).toBe(1);
    } finally {
      await azurite.stop();
    }
    expect(await refuses(azurite.blobEndpoint)).toBe(true);
    expect(await refuses(azurite.tableEndpoint)).toBe(true);
    expect(existsSync(azurite.location)).toBe(false);
  });

  it("dies with its parent process even when the parent is killed hard", async () => {
    const script =
      'import { startAzurite } from "./demo/azurite.ts";' +
      "const a = await startAzurite(); console.log(a.blobEndpoint);";
    const parent = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: new URL("../../..", import.meta.url).pathname,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const blobEndpoint = await new Promise<string>((resolve, reject) => {
      parent.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      parent.once("exit", (code) => reject(new Error(`parent exited early (${code})`)));
    });
    expect(await refuses(blobEndpoint)).toBe(false);
    parent.kill("SIGKILL");
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      gone = await refuses(blobEndpoint);
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone).toBe(true);
  });
});
