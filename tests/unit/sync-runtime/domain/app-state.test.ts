import { describe, expect, it } from "vitest";
import type { PowerAppEvent } from "../../../../sync-runtime/src/domain/records";
import { foldAppState } from "../../../../sync-runtime/src/domain/app-state";

const ev = (
  recordId: string,
  creationTime: string,
  kind: "launch" | "delete",
  extra: Partial<PowerAppEvent> = {},
): PowerAppEvent => ({
  kind,
  recordId,
  creationTime,
  appId: "app",
  appName: null,
  environmentId: "env",
  userUpn: `${recordId}@contoso.com`,
  userKey: null,
  schema: "purview",
  ...extra,
});

describe("foldAppState", () => {
  const events = [
    ev("b", "2026-05-19T10:00:00.000Z", "launch", { appName: "Old" }),
    ev("c", "2026-05-19T12:00:00.000Z", "launch", { appName: "New" }),
    ev("a", "2026-05-19T12:00:00.000Z", "launch"),
    ev("d", "2026-05-19T13:00:00.000Z", "delete"),
  ];

  it("keeps the latest launch (greater Id on ties), latest name and the deletion", () => {
    expect(foldAppState({ appId: "app" }, events)).toMatchObject({
      lastLaunchedAt: "2026-05-19T12:00:00.000Z",
      lastLaunchedBy: "c@contoso.com",
      appName: "New",
      deletedAt: "2026-05-19T13:00:00.000Z",
    });
  });

  it("gives the same state whatever the order and however often events are applied", () => {
    const once = foldAppState({ appId: "app" }, events);
    const reversedTwice = foldAppState(
      foldAppState({ appId: "app" }, [...events].reverse()),
      events,
    );
    expect(reversedTwice).toEqual(once);
  });
});
