import { describe, expect, it } from "vitest";
import { archiveBlobName } from "../../../../sync-runtime/src/storage/raw-archive";

describe("archiveBlobName", () => {
  it("is one name per content id, under content type and UTC day, safe for blob paths", () => {
    expect(
      archiveBlobName({
        contentType: "Audit.General",
        contentId: "2026$a/b?c",
        contentCreated: "2026-05-19T23:59:59.000Z",
      }),
    ).toBe("Audit.General/2026-05-19/2026$a%2fb%3fc.ndjson.gz");
  });
});
