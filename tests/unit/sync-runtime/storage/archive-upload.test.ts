import { gunzipSync } from "node:zlib";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import { claimStorageAccount } from "../../../helpers/scenario-services";
import { RawArchive } from "../../../../sync-runtime/src/storage/raw-archive";

/** Requests the archive sends, by kind, seen through the Blob SDK's own client. */
function countingArchive(container: ContainerClient, blockBytes: number) {
  const sent = { putBlob: 0, putBlock: 0, putBlockList: 0 };
  const archive = new RawArchive(container, blockBytes);
  const begin = archive.begin.bind(archive);
  archive.begin = (name) => {
    const upload = begin(name);
    const blob = (upload as unknown as { blob: Record<string, (...a: unknown[]) => unknown> }).blob;
    for (const [method, kind] of [
      ["uploadData", "putBlob"],
      ["stageBlock", "putBlock"],
      ["commitBlockList", "putBlockList"],
    ] as const) {
      const real = blob[method].bind(blob);
      blob[method] = (...args: unknown[]) => {
        sent[kind]++;
        return real(...args);
      };
    }
    return upload;
  };
  return { archive, sent };
}

/** NDJSON lines that gzip poorly (random hex), so a few hundred KB make several small blocks. */
function lines(count: number, tag: string): string {
  let text = "";
  for (let i = 0; i < count; i++)
    text += `${JSON.stringify({ Id: `${tag}-${i}`, r: Math.random().toString(16).repeat(4) })}\n`;
  return text;
}

async function read(container: ContainerClient, name: string): Promise<string> {
  return gunzipSync(await container.getBlobClient(name).downloadToBuffer()).toString("utf8");
}

describe("ArchiveUpload (Azurite)", () => {
  let connectionString: string;
  let container: ContainerClient;
  beforeAll(async () => {
    connectionString = await claimStorageAccount();
    container =
      BlobServiceClient.fromConnectionString(connectionString).getContainerClient("archive-test");
    await container.create();
  });

  it("sends a small archive as one Put Blob, gzip NDJSON that round-trips", async () => {
    const { archive, sent } = countingArchive(container, 1024 * 1024);
    const text = lines(50, "small");
    const upload = archive.begin("small.ndjson.gz");
    await upload.add(text.slice(0, 1000));
    await upload.add(text.slice(1000));
    await upload.finish();
    expect(sent).toEqual({ putBlob: 1, putBlock: 0, putBlockList: 0 });
    expect(await read(container, "small.ndjson.gz")).toBe(text);
    const props = await container.getBlobClient("small.ndjson.gz").getProperties();
    expect(props.contentEncoding).toBe("gzip");
  });

  it("stages a big archive in blocks and commits them in order", async () => {
    const { archive, sent } = countingArchive(container, 16 * 1024);
    const text = lines(5_000, "big");
    const upload = archive.begin("big.ndjson.gz");
    for (let i = 0; i < text.length; i += 8_192) await upload.add(text.slice(i, i + 8_192));
    await upload.finish();
    expect(sent.putBlob).toBe(0);
    expect(sent.putBlock).toBeGreaterThan(2);
    expect(sent.putBlockList).toBe(1);
    expect(await read(container, "big.ndjson.gz")).toBe(text);
  });

  it("leaves nothing committed when discarded", async () => {
    const { archive } = countingArchive(container, 16 * 1024);
    const upload = archive.begin("discarded.ndjson.gz");
    const text = lines(3_000, "gone");
    for (let i = 0; i < text.length; i += 8_192) await upload.add(text.slice(i, i + 8_192));
    upload.discard();
    // Long enough for any request still under way to land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await container.getBlobClient("discarded.ndjson.gz").exists()).toBe(false);
  });

  it("keeps only the second attempt's content after a discarded first one", async () => {
    const { archive } = countingArchive(container, 16 * 1024);
    const first = archive.begin("retried.ndjson.gz");
    const firstText = lines(3_000, "first");
    for (let i = 0; i < firstText.length; i += 8_192)
      await first.add(firstText.slice(i, i + 8_192));
    first.discard();
    const second = archive.begin("retried.ndjson.gz");
    const secondText = lines(2_000, "second");
    for (let i = 0; i < secondText.length; i += 8_192)
      await second.add(secondText.slice(i, i + 8_192));
    await second.finish();
    expect(await read(container, "retried.ndjson.gz")).toBe(secondText);
    const blocks = await container
      .getBlockBlobClient("retried.ndjson.gz")
      .getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBeGreaterThan(1);
  });
});
