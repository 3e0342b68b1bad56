import { TableClient } from "@azure/data-tables";
import { beforeAll, describe, expect, it } from "vitest";
import { claimStorageAccount } from "../../../helpers/scenario-services";
import { UserDictionary } from "../../../../sync-runtime/src/storage/user-ids";

/** The `~users` rows of a table, keyed by row key, with their ETags. */
async function pages(table: TableClient): Promise<Map<string, { etag: string; chunks: number }>> {
  const rows = new Map<string, { etag: string; chunks: number }>();
  const filter = "PartitionKey eq '~users'";
  for await (const e of table.listEntities({ queryOptions: { filter } })) {
    rows.set(e.rowKey!, { etag: e.etag, chunks: Number(e.chunks) });
  }
  return rows;
}

describe("the user dictionary in Table Storage", () => {
  let connectionString: string;
  let n = 0;
  const freshTable = async () => {
    const table = TableClient.fromConnectionString(connectionString, `users${++n}`, {
      allowInsecureConnection: true,
    });
    await table.createTable();
    return table;
  };
  beforeAll(async () => {
    connectionString = await claimStorageAccount();
  });

  it("keeps every id across loads, and a save with nothing new writes nothing", async () => {
    const table = await freshTable();
    const first = await UserDictionary.load(table);
    const day1 = first.ids.idSet(["c@x", "a@x"]);
    await first.save();
    const second = await UserDictionary.load(table);
    expect([...second.ids.idSet(["a@x", "c@x"])]).toEqual([...day1]);
    const untouched = await pages(table);
    await second.save();
    expect(await pages(table)).toEqual(untouched);
    // A re-run: the same users again, then one more, which gets the next id.
    expect([...second.ids.idSet(["b@x", "a@x"])]).toEqual([0, 2]);
    await second.save();
    const third = await UserDictionary.load(table);
    expect([0, 1, 2].map((id) => third.ids.upnOf(id))).toEqual(["a@x", "c@x", "b@x"]);
    expect((await pages(table)).size).toBe(1);
  });

  it("spreads a large tenant over pages that each fit one entity, in id order", async () => {
    const table = await freshTable();
    const upns = Array.from(
      { length: 60_000 },
      (_, i) => `someone.with.a.long.name${i}@contoso.example`,
    );
    const dictionary = await UserDictionary.load(table);
    dictionary.ids.idSet(upns.slice(0, 100));
    await dictionary.save();
    dictionary.ids.idSet(upns);
    await dictionary.save();
    const stored = await pages(table);
    expect(stored.size).toBeGreaterThan(2);
    for (const p of stored.values()) expect(p.chunks).toBeLessThanOrEqual(14);
    const loaded = await UserDictionary.load(table);
    expect(loaded.ids.size).toBe(60_000);
    for (const upn of [upns[0]!, upns[99]!, upns[31_337]!, upns[59_999]!]) {
      expect(loaded.ids.upnOf(dictionary.ids.idOf(upn))).toBe(upn);
    }
  });

  it("lets only one of two writers that loaded the same dictionary add to it", async () => {
    const table = await freshTable();
    const seed = await UserDictionary.load(table);
    seed.ids.idSet(["a@x"]);
    await seed.save();
    const one = await UserDictionary.load(table);
    const two = await UserDictionary.load(table);
    one.ids.idSet(["b@x"]);
    two.ids.idSet(["z@x"]);
    await one.save();
    await expect(two.save()).rejects.toMatchObject({ statusCode: 412 });
    const loaded = await UserDictionary.load(table);
    expect([loaded.ids.upnOf(0), loaded.ids.upnOf(1), loaded.ids.size]).toEqual(["a@x", "b@x", 2]);
  });

  it("refuses pages that are not one run of ids from 0, naming the command that rebuilds", async () => {
    const table = await freshTable();
    const dictionary = await UserDictionary.load(table);
    dictionary.ids.idSet(["a@x", "b@x"]);
    await dictionary.save();
    const [key] = [...(await pages(table)).keys()];
    const row = await table.getEntity("~users", key!);
    await table.deleteEntity("~users", key!);
    await table.createEntity({ ...row, partitionKey: "~users", rowKey: "0000000005", firstId: 5 });
    await expect(UserDictionary.load(table)).rejects.toThrow(/rebuild-rollups/);
  });
});
