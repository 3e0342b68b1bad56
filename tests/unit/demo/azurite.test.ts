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
      expect(existsSync(azurite.location!)).toBe(true);

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
    expect(existsSync(azurite.location!)).toBe(false);
  });

  it("stops and starts again on the same ports and data folder, keeping what was written", async () => {
    const azurite = await startAzurite();
    try {
      const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
      const container = blobs.getContainerClient("kept");
      await container.create();
      await container.getBlockBlobClient("before.txt").upload("written before", 14);
      const table = TableClient.fromConnectionString(azurite.connectionString, "kept", {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.upsertEntity({ partitionKey: "p", rowKey: "before", n: 1 });
      const endpoints = [azurite.connectionString, azurite.blobEndpoint, azurite.tableEndpoint];

      const stopping = Date.now();
      await azurite.stop({ keepData: true });
      expect(Date.now() - stopping).toBeLessThan(2_900); // graceful, not the SIGKILL at 3 s
      expect(azurite.running).toBe(false);
      expect(await refuses(azurite.blobEndpoint)).toBe(true);
      expect(await refuses(azurite.tableEndpoint)).toBe(true);
      expect(existsSync(azurite.location!)).toBe(true);
      // Storage down: a client's call fails (no retries here, to fail fast).
      const once = BlobServiceClient.fromConnectionString(azurite.connectionString, {
        retryOptions: { maxTries: 1 },
      });
      await expect(
        once.getContainerClient("kept").getBlobClient("before.txt").downloadToBuffer(),
      ).rejects.toThrow();

      await azurite.start();
      expect(azurite.running).toBe(true);
      expect([azurite.connectionString, azurite.blobEndpoint, azurite.tableEndpoint]).toEqual(
        endpoints,
      );
      // The clients made before the outage work again, and the data is still there.
      expect((await container.getBlobClient("before.txt").downloadToBuffer()).toString()).toBe(
        "written before",
      );
      expect((await table.getEntity<{ n: number }>("p", "before")).n).toBe(1);
      await table.upsertEntity({ partitionKey: "p", rowKey: "after", n: 2 });

      await azurite.restart({ downMs: 50 });
      expect((await table.getEntity<{ n: number }>("p", "after")).n).toBe(2);
      await azurite.start(); // already running: nothing to do
    } finally {
      await azurite.stop();
    }
    expect(azurite.running).toBe(false);
    expect(existsSync(azurite.location!)).toBe(false);
    await expect(azurite.start()).rejects.toThrow(/stopped for good/);
  });

  it("in memory, serves several accounts, each with its own containers and tables", async () => {
    const names = ["alpha001", "beta0002"];
    const azurite = await startAzurite({ inMemory: true, accounts: names });
    try {
      expect(azurite.location).toBeNull();
      const [alpha, beta] = names.map((name) => azurite.connectionStringFor(name));
      expect(alpha).toContain(`BlobEndpoint=${new URL(azurite.blobEndpoint).origin}/alpha001;`);
      expect(beta).toContain(`TableEndpoint=${new URL(azurite.tableEndpoint).origin}/beta0002;`);
      // The same container and table names in two accounts hold what each account wrote.
      for (const [connectionString, text] of [
        [alpha, "in alpha"],
        [beta, "in beta"],
      ]) {
        const container =
          BlobServiceClient.fromConnectionString(connectionString).getContainerClient("same");
        await container.create();
        await container.getBlockBlobClient("a.txt").upload(text, text.length);
        const table = TableClient.fromConnectionString(connectionString, "same", {
          allowInsecureConnection: true,
        });
        await table.createTable();
        await table.upsertEntity({ partitionKey: "p", rowKey: "r", text });
      }
      for (const [connectionString, text] of [
        [alpha, "in alpha"],
        [beta, "in beta"],
      ]) {
        const blob = BlobServiceClient.fromConnectionString(connectionString)
          .getContainerClient("same")
          .getBlobClient("a.txt");
        expect((await blob.downloadToBuffer()).toString()).toBe(text);
        const table = TableClient.fromConnectionString(connectionString, "same", {
          allowInsecureConnection: true,
        });
        expect((await table.getEntity<{ text: string }>("p", "r")).text).toBe(text);
      }
      // The default account sees neither.
      const listed = [];
      for await (const c of BlobServiceClient.fromConnectionString(
        azurite.connectionString,
      ).listContainers())
        listed.push(c.name);
      expect(listed).toEqual([]);

      expect(() => azurite.connectionStringFor("other001")).toThrow(/does not serve/);
      // Nothing would survive a stop: one that promises to keep the data is refused.
      await expect(azurite.stop({ keepData: true })).rejects.toThrow(/in memory/);
      expect(azurite.running).toBe(true);
    } finally {
      await azurite.stop();
    }
    expect(await refuses(azurite.blobEndpoint)).toBe(true);
  });

  it("refuses an account name Azure would refuse, and a folder for in-memory data", async () => {
    await expect(startAzurite({ accounts: ["Bad_Name"] })).rejects.toThrow(/"Bad_Name".*3 to 24/);
    await expect(startAzurite({ inMemory: true, location: "/tmp/x" })).rejects.toThrow(
      /inMemory keeps no data folder/,
    );
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
