import { describe, expect, it } from "vitest";
import { eventKeys, tableKey } from "../../../../sync-runtime/src/storage/keys";

describe("table keys", () => {
  it("encodes the characters Azure Tables forbid", () => {
    const key = tableKey("a/b\\c#d?e%f\u0001g$h");
    expect(key).toBe("a%2Fb%5Cc%23d%3Fe%25f%01g$h");
    expect(key).not.toMatch(/[/\\#?\u0000-\u001f]/);
    expect(tableKey("20150520081500045000157$audit_general$Audit_General")).toBe(
      "20150520081500045000157$audit_general$Audit_General",
    );
  });

  it("keeps distinct values distinct, also a value that looks already encoded", () => {
    // Encoding % itself is what keeps "a/b" and the literal "a%2Fb" on different rows.
    expect(tableKey("a/b")).not.toBe(tableKey("a%2Fb"));
  });

  it("gives the same record the same row wherever it was seen", () => {
    const a = eventKeys({ recordId: "id-1", creationTime: "2026-05-19T13:17:34.000Z" });
    const b = eventKeys({ recordId: "id-1", creationTime: "2026-05-19T13:17:34.000Z" });
    expect(a).toEqual(b);
    expect(a).toEqual({ partitionKey: "2026-05-19", rowKey: "id-1" });
  });
});
