import { randomBytes } from "node:crypto";
import type { BlockBlobClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { ArchiveUpload } from "../../../../sync-runtime/src/storage/raw-archive";

/** A Blob SDK client whose Put Block answers only when the test lets it (a slow Blob Storage). */
function heldBlobClient() {
  const held: Array<() => void> = [];
  const staged: Buffer[] = [];
  let committed: string[] | undefined;
  const client = {
    stageBlock: (_id: string, body: Buffer) =>
      new Promise<void>((resolve) =>
        held.push(() => {
          staged.push(body);
          resolve();
        }),
      ),
    commitBlockList: async (ids: string[]) => {
      committed = ids;
    },
    uploadData: async () => {},
  } as unknown as BlockBlobClient;
  return {
    client,
    held,
    staged,
    committed: () => committed,
    releaseAll: () => {
      for (const go of held.splice(0)) go();
    },
  };
}

describe("ArchiveUpload against a slow Blob Storage", () => {
  it("holds the download back while two blocks wait to upload, instead of queueing the archive", async () => {
    const blob = heldBlobClient();
    const upload = new ArchiveUpload(blob.client, 16 * 1024);
    // Random hex gzips about 2:1: 40 writes of 256 KiB make about 5 MiB of blocks.
    const piece = () => `${randomBytes(128 * 1024).toString("hex")}\n`;
    let added = 0;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        await upload.add(piece());
        added++;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    // The first block's upload is held: a few MiB got in (the write buffer, gzip's), no more.
    expect(blob.held.length).toBe(1);
    expect(added).toBeLessThan(12);
    // Storage answers again: everything goes through, in order, nothing dropped.
    const pump = setInterval(blob.releaseAll, 1);
    await writer;
    await upload.finish();
    clearInterval(pump);
    expect(added).toBe(40);
    expect(blob.committed()?.length).toBe(blob.staged.length);
    expect(blob.staged.length).toBeGreaterThan(10);
  });
});
