import { createGzip, type Gzip } from "node:zlib";
import type { ContainerClient } from "@azure/storage-blob";
import type { ContentItem } from "../domain/content";

/**
 * Where a content blob's raw records are archived: one gzip NDJSON blob per content id, under its
 * content type and the UTC day it was created. A re-run writes the same name with the same
 * records, so it can neither lose nor double an archived blob.
 */
export function archiveBlobName(
  item: Pick<ContentItem, "contentType" | "contentId" | "contentCreated">,
): string {
  const day = /^\d{4}-\d{2}-\d{2}/.exec(item.contentCreated)?.[0] ?? "unknown-day";
  const id = item.contentId.replace(
    /[^A-Za-z0-9._$-]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `${item.contentType}/${day}/${id}.ndjson.gz`;
}

/**
 * Collects records as gzip-compressed NDJSON while the blob streams in. Only the compressed bytes
 * are held (audit JSON compresses about 10:1), never the whole blob as text.
 */
export class NdjsonGzipWriter {
  private readonly gzip: Gzip = createGzip();
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<Buffer>;

  constructor() {
    this.gzip.on("data", (c: Buffer) => this.chunks.push(c));
    this.done = new Promise((resolve, reject) => {
      this.gzip.once("end", () => resolve(Buffer.concat(this.chunks)));
      this.gzip.once("error", reject);
    });
  }

  add(record: unknown): void {
    this.gzip.write(JSON.stringify(record) + "\n");
  }

  finish(): Promise<Buffer> {
    this.gzip.end();
    return this.done;
  }

  /** Drops a writer whose blob failed half-way (a retry starts a new one). */
  discard(): void {
    this.gzip.destroy();
  }
}

/** The raw archive container: one gzip NDJSON blob per content id (see archiveBlobName). */
export class RawArchive {
  constructor(readonly container: ContainerClient) {}

  /** Stores one content blob's archive under its name; a re-run overwrites it with the same bytes. */
  async upload(name: string, gz: Buffer): Promise<void> {
    await this.container.getBlockBlobClient(name).uploadData(gz, {
      blobHTTPHeaders: { blobContentType: "application/x-ndjson", blobContentEncoding: "gzip" },
    });
  }
}
