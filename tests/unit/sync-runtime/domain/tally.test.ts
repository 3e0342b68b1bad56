import { describe, expect, it } from "vitest";
import { WrittenIds } from "../../../../sync-runtime/src/domain/written-ids";
import { RecordCollector, recordKey, tallyBlob } from "../../../../sync-runtime/src/domain/tally";

const launch = (id: string, appId = "app-1", time = "2026-05-19T10:00:00") => ({
  Id: id,
  RecordType: 256,
  CreationTime: time,
  Operation: "LaunchPowerApp",
  UserId: `${id}@contoso.com`,
  PropertyCollection: [{ Name: "powerplatform.analytics.resource.power_app.id", Value: appId }],
});
const del = (id: string) => ({ ...launch(id), Operation: "DeletePowerApp" });
const unparsed = (id?: string) => ({
  ...(id ? { Id: id } : {}),
  CreationTime: "2026-05-19T11:00:00",
  Operation: "LaunchPowerApp",
});

function collect(records: unknown[]): RecordCollector {
  const c = new RecordCollector();
  for (const r of records) c.add(r);
  return c;
}

describe("tallyBlob", () => {
  it("counts records, launches, deletes and the newest time of a blob", () => {
    const collected = collect([
      launch("a"),
      launch("b", "app-2", "2026-05-19T12:30:00"),
      del("c"),
      { Id: "x", CreationTime: "2026-05-19T13:00:00", Operation: "FileAccessed" },
    ]);
    const tally = tallyBlob(collected, new WrittenIds());
    expect(tally.stats).toEqual({
      records: 4,
      launches: 2,
      deletes: 1,
      unparsed: 0,
      duplicates: 0,
    });
    expect(tally.launches.map((e) => e.recordId)).toEqual(["a", "b"]);
    expect(tally.deletes.map((e) => e.recordId)).toEqual(["c"]);
    // Any parsed record moves "newest", not only Power Apps events: it measures the feed's lag.
    expect(collected.newest).toBe("2026-05-19T13:00:00.000Z");
  });

  it("stores a record repeated inside the blob once and counts the repeat as a duplicate", () => {
    const tally = tallyBlob(collect([launch("a"), launch("a"), del("a")]), new WrittenIds());
    expect(tally.launches).toHaveLength(1);
    // A launch and a delete may share an Id space: they are different records.
    expect(tally.deletes).toHaveLength(1);
    expect(tally.stats.duplicates).toBe(1);
    expect([...tally.newKeys].sort()).toEqual([recordKey("delete", "a"), recordKey("launch", "a")]);
  });

  it("skips what this process already wrote, counting it as duplicate", () => {
    const written = new WrittenIds();
    written.add(recordKey("launch", "a"));
    const tally = tallyBlob(collect([launch("a"), launch("b")]), written);
    expect(tally.launches.map((e) => e.recordId)).toEqual(["b"]);
    expect(tally.stats).toMatchObject({ launches: 1, duplicates: 1 });
    expect(tally.newKeys.has(recordKey("launch", "a"))).toBe(false);
  });

  it("counts unparsed records once per Id, and every one without an Id", () => {
    const written = new WrittenIds();
    written.add(recordKey("unparsed", "seen-before"));
    const collected = collect([
      unparsed("u1"),
      unparsed("u1"),
      unparsed("seen-before"),
      unparsed(),
      unparsed(),
    ]);
    const tally = tallyBlob(collected, written);
    expect(tally.stats.unparsed).toBe(3);
    expect(tally.newKeys).toEqual(new Set([recordKey("unparsed", "u1")]));
    expect(collected.firstUnparsed?.recordId).toBe("u1");
  });
});
