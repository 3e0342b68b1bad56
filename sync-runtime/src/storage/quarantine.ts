import type { ContainerClient } from "@azure/storage-blob";
import type { ContentItem } from "../domain/content";
import type { Interval } from "../domain/windows";
import type { StorageOptions } from "./options";
import { archiveBlobName } from "./raw-archive";

/**
 * Content blobs the API served in a form that cannot be read (not a JSON array, an error the
 * runtime does not know): their bytes as they came, under the same name scheme as the raw
 * archive, with the reason in the blob's metadata. Nothing is parsed from them; they are kept
 * for someone to look at, and the `gaps` command lists their content ids.
 */
export class Quarantine {
  constructor(readonly container: ContainerClient) {}

  /** Stores the bytes; returns the blob name. A re-run overwrites it with the same bytes. */
  async put(
    item: ContentItem,
    bytes: Buffer,
    meta: { reason: string; status: number; truncated: boolean },
    options: StorageOptions = {},
  ): Promise<string> {
    const name = archiveBlobName(item).replace(/\.ndjson\.gz$/, ".raw");
    await this.container.getBlockBlobClient(name).uploadData(bytes, {
      blobHTTPHeaders: { blobContentType: "application/octet-stream" },
      abortSignal: options.abortSignal,
      // Metadata values must be ASCII: keep the reason readable, drop anything else.
      metadata: {
        reason: meta.reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 1024),
        httpstatus: String(meta.status),
        truncated: String(meta.truncated),
        contentid: item.contentId.replace(/[^\x20-\x7e]/g, "?"),
      },
    });
    return name;
  }

  /**
   * Keeps what a listing answered when its NextPageUri could not be followed (the value as the
   * API sent it, why it was refused, how many pages came before), under listings/. Returns the
   * blob name. A re-run overwrites it.
   */
  async putListing(
    contentType: string,
    window: Interval,
    answer: { nextPageUri: string; why: string; pages: number; detectedAt: string },
    options: StorageOptions = {},
  ): Promise<string> {
    const name = `listings/${contentType}/${window.from.toISOString().replace(/:/g, "")}.json`;
    const body = JSON.stringify(
      { contentType, from: window.from.toISOString(), to: window.to.toISOString(), ...answer },
      null,
      2,
    );
    await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: "application/json" },
      metadata: { reason: "listingCut" },
      abortSignal: options.abortSignal,
    });
    return name;
  }
}
