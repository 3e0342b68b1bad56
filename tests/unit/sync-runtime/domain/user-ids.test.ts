import { describe, expect, it } from "vitest";
import { UserIds } from "../../../../sync-runtime/src/domain/user-ids";

describe("the user dictionary", () => {
  it("gives a UPN seen again its id, and adds nothing when every UPN is known", () => {
    const ids = new UserIds();
    const first = ids.idSet(["b@x", "a@x", "c@x"]);
    expect([...first]).toEqual([0, 1, 2]);
    ids.markStored();
    expect([...ids.idSet(["c@x", "a@x"])]).toEqual([0, 2]);
    expect([...ids.idSet(["b@x", "a@x", "c@x"])]).toEqual([...first]);
    expect(ids.unstored()).toEqual({ firstId: 3, upns: [] });
    expect(ids.size).toBe(3);
  });

  it("keeps the stored ids when loaded, and numbers new UPNs after them in sorted order", () => {
    const loaded = new UserIds(["z@x", "m@x"]);
    expect(loaded.idOf("m@x")).toBe(1);
    expect([...loaded.idSet(["q@x", "m@x", "b@x"])]).toEqual([1, 2, 3]);
    expect(loaded.upnOf(2)).toBe("b@x");
    expect(loaded.unstored()).toEqual({ firstId: 2, upns: ["b@x", "q@x"] });
  });

  it("assigns the same ids whatever the order of a day's users, and a repeat counts once", () => {
    const one = new UserIds(["k@x"]);
    const two = new UserIds(["k@x"]);
    expect([...one.idSet(["d@x", "a@x", "k@x"])]).toEqual([...two.idSet(["k@x", "a@x", "d@x"])]);
    expect([...new UserIds().idSet(["a@x", "a@x", "b@x"])]).toEqual([0, 1]);
  });

  it("refuses a stored dictionary that holds a UPN twice", () => {
    expect(() => new UserIds(["a@x", "a@x"])).toThrow(/stored twice/);
  });
});
