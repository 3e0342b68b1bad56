import type { ContainerClient } from "@azure/storage-blob";
import type { StorageOptions } from "./options";

/** The reports container: the latest usage report in each file format, replaced after a pass. */
export class ReportFiles {
  constructor(readonly container: ContainerClient) {}

  /** Writes (or replaces) one report file. */
  async put(
    name: string,
    body: Buffer,
    contentType: string,
    options: StorageOptions = {},
  ): Promise<void> {
    await this.container.getBlockBlobClient(name).uploadData(body, {
      blobHTTPHeaders: { blobContentType: contentType },
      abortSignal: options.abortSignal,
    });
  }
}
