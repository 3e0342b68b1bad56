import { describe, expect, it } from "vitest";
import {
  decodeTableKey,
  eventKeys,
  tableKey,
  WrittenIds,
} from "../../../sync-runtime/src/records/dedupe";

describe("table keys", () => {
  it("encodes the characters Azure Tables forbid, reversibly", () => {
    const raw = "a/b\\c#d?e%f\u0001g$h";
    const key = tableKey(raw);
    expect(key).not.toMatch(/[/\\#?\u0000-\u001f]/);
    expect(decodeTableKey(key)).toBe(raw);
    expect(tableKey("20150520081500045000157$audit_general$Audit_General")).toBe(
      "20150520081500045000157$audit_general$Audit_General",
    );
  });

  it("gives the same record the same row wherever it was seen", () => {
    const a = eventKeys({ recordId: "id-1", creationTime: "2026-05-19T13:17:34.000Z" });
    const b = eventKeys({ recordId: "id-1", creationTime: "2026-05-19T13:17:34.000Z" });
    expect(a).toEqual(b);
    expect(a).toEqual({ partitionKey: "2026-05-19", rowKey: "id-1" });
  });
});

describe("WrittenIds", () => {
  it("remembers written ids and forgets the oldest beyond its capacity", () => {
    const ids = new WrittenIds(2);
    ids.add("a");
    ids.add("b");
    expect(ids.has("a")).toBe(true);
    ids.add("c");
    expect(ids.has("a")).toBe(false);
    expect(ids.has("b")).toBe(true);
    expect(ids.has("c")).toBe(true);
  });
});
