import { describe, expect, it } from "vitest";
import type { AppState } from "../../../../sync-runtime/src/domain/app-state";
import { findInactiveApps } from "../../../../sync-runtime/src/domain/inactive-apps";

const DAY_MS = 86_400_000;
const TO = new Date("2026-05-20T00:00:00.000Z");
const daysBefore = (days: number) => new Date(TO.getTime() - days * DAY_MS).toISOString();

function state(appId: string, extra: Partial<AppState> = {}): AppState {
  return {
    appId,
    appName: `App ${appId}`,
    environmentId: `env-${appId}`,
    ...extra,
  };
}

describe("findInactiveApps (all-time app state -> the report's inactiveApps)", () => {
  it("lists apps idle at least staleDays, never-launched ones first, then longest idle", () => {
    const states = [
      state("recent", { lastLaunchedAt: daysBefore(1), lastLaunchedBy: "a@x" }),
      state("idle10", { lastLaunchedAt: daysBefore(10), lastLaunchedBy: "b@x" }),
      state("idle40", { lastLaunchedAt: daysBefore(40), lastLaunchedBy: "C@X" }),
      state("never"),
      state("idle10b", { lastLaunchedAt: daysBefore(10), lastLaunchedBy: "d@x" }),
    ];
    const inactive = findInactiveApps(states, TO, 7);
    expect(inactive.map((a) => a.appId)).toEqual(["never", "idle40", "idle10", "idle10b"]);
    expect(inactive[0]).toEqual({
      appId: "never",
      appName: "App never",
      environmentId: "env-never",
      lastLaunchedAt: null,
      lastLaunchedBy: null,
    });
    // The UPN as written; keys exactly the contract's.
    expect(inactive[1]).toEqual({
      appId: "idle40",
      appName: "App idle40",
      environmentId: "env-idle40",
      lastLaunchedAt: daysBefore(40),
      lastLaunchedBy: "C@X",
    });
    expect(findInactiveApps(states, TO, 30).map((a) => a.appId)).toEqual(["never", "idle40"]);
  });

  it("leaves deleted apps out, however long idle", () => {
    const states = [
      state("gone", { lastLaunchedAt: daysBefore(50), deletedAt: daysBefore(45) }),
      state("gone-unlaunched", { deletedAt: daysBefore(2) }),
      state("kept", { lastLaunchedAt: daysBefore(50) }),
    ];
    expect(findInactiveApps(states, TO, 30).map((a) => a.appId)).toEqual(["kept"]);
  });

  it("counts an app launched exactly staleDays before `to` as idle, one ms later as active", () => {
    const edge = state("edge", { lastLaunchedAt: daysBefore(30) });
    const after = state("after", {
      lastLaunchedAt: new Date(TO.getTime() - 30 * DAY_MS + 1).toISOString(),
    });
    expect(findInactiveApps([edge, after], TO, 30).map((a) => a.appId)).toEqual(["edge"]);
  });

  it("compares instants, not text, and writes times as ISO 8601 UTC", () => {
    // An offset time that sorts after the other as text but is earlier as an instant.
    const offset = state("offset", { lastLaunchedAt: "2026-05-01T05:00:00+09:00" });
    const utc = state("utc", { lastLaunchedAt: "2026-04-30T21:00:00Z" });
    const inactive = findInactiveApps([utc, offset], TO, 7);
    expect(inactive.map((a) => a.appId)).toEqual(["offset", "utc"]);
    expect(inactive[0].lastLaunchedAt).toBe("2026-04-30T20:00:00.000Z");
  });

  it("gives nulls for missing name and environment, and an empty list for no apps", () => {
    const bare = findInactiveApps([{ appId: "bare", lastLaunchedAt: daysBefore(9) }], TO, 7);
    expect(bare).toEqual([
      {
        appId: "bare",
        appName: null,
        environmentId: null,
        lastLaunchedAt: daysBefore(9),
        lastLaunchedBy: null,
      },
    ]);
    expect(findInactiveApps([], TO, 7)).toEqual([]);
  });

  it("rejects a staleDays that is not a positive number", () => {
    expect(() => findInactiveApps([], TO, 0)).toThrow(/staleDays/);
    expect(() => findInactiveApps([], TO, Number.NaN)).toThrow(/staleDays/);
  });
});
