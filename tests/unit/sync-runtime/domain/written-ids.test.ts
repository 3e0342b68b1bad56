import { describe, expect, it } from "vitest";
import { WrittenIds } from "../../../../sync-runtime/src/domain/written-ids";

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

  it("counts a re-added id as the newest", () => {
    const ids = new WrittenIds(2);
    ids.add("a");
    ids.add("b");
    ids.add("a");
    ids.add("c");
    expect(ids.has("a")).toBe(true);
    expect(ids.has("b")).toBe(false);
  });
});
