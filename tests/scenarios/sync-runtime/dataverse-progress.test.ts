import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PowerAppEvent } from "../../../sync-runtime/src/domain/records";
import { cli } from "./cli-child";
import { startTestEnv, type TestEnv } from "./harness";

/**
 * The progress lines of a long Dataverse drain, as an operator watching `dataverse backfill` in
 * a terminal sees them on stderr from the CLI the container runs: one per day put into the
 * outbox, then one per round of writes, their counts rising to the total; the JSON summary alone
 * on stdout.
 */
describe("the Dataverse sink's progress lines", () => {
  const days = ["2026-03-02", "2026-03-03", "2026-03-04"];
  const perDay = 2000;
  const total = days.length * perDay;
  let t: TestEnv;

  beforeAll(async () => {
    t = await startTestEnv({
      seed: "dataverse-progress",
      startTime: new Date("2026-03-05T00:00:00Z"),
      tenant: { days: 1, apps: 5, users: 10, launchesPerDay: 10 },
      dataverse: { missingAppEvery: 0 },
    });
  });
  afterAll(async () => t?.stop());

  it("`dataverse backfill` prints a line per day and per round of writes, counting up to the total", async () => {
    const dv = t.emulator.dataverse!;
    const runtime = t.runtime();
    await runtime.ready();
    // Three days of stored history, as passes with the sink off would have left them.
    const apps = dv.seededAppIds();
    const launches: PowerAppEvent[] = days.flatMap((day, d) =>
      Array.from({ length: perDay }, (_, i) => ({
        kind: "launch" as const,
        recordId: `d0000000-0000-4000-8000-${String(d * perDay + i).padStart(12, "0")}`,
        creationTime: new Date(Date.parse(`${day}T08:00:00Z`) + i * 1000).toISOString(),
        appId: apps[i % apps.length],
        appName: `App ${i % apps.length}`,
        environmentId: null,
        userUpn: `user${i % 10}@contoso.com`,
        userKey: null,
        schema: "purview" as const,
      })),
    );
    await runtime.store.launches.write(launches);

    const run = await cli(["dataverse", "backfill"], t.env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split("\n").filter((l) => l.startsWith("progress: dataverse"));

    const filled = lines.flatMap((l) => {
      const m =
        /^progress: dataverse back-fill {2}day (\S+) \((\d+)\/(\d+)\) {2}events ([\d,]+) into the outbox$/.exec(
          l,
        );
      return m ? [{ day: m[1], done: Number(m[2]), of: Number(m[3]), events: count(m[4]) }] : [];
    });
    expect(filled).toEqual(
      days.map((day, i) => ({ day, done: i + 1, of: days.length, events: (i + 1) * perDay })),
    );

    const drained = lines.flatMap((l) => {
      const m = /^progress: dataverse {2}events ([\d,]+)\/([\d,]+) {2}rows written ([\d,]+) /.exec(
        l,
      );
      return m ? [{ handled: count(m[1]), of: count(m[2]), written: count(m[3]) }] : [];
    });
    // A round of writes is 4,000 events: at least two lines for 6,000, all after the back-fill's.
    expect(drained.length).toBeGreaterThanOrEqual(2);
    expect(lines).toHaveLength(filled.length + drained.length);
    expect(lines.slice(0, filled.length).every((l) => l.includes("back-fill"))).toBe(true);
    for (const p of drained) expect(p.of).toBe(total);
    for (let i = 1; i < drained.length; i++) {
      expect(drained[i].handled).toBeGreaterThan(drained[i - 1].handled);
      expect(drained[i].written).toBeGreaterThanOrEqual(drained[i - 1].written);
    }
    expect(drained.at(-1)).toEqual({ handled: total, of: total, written: total });

    // stdout is the summary alone, and Dataverse holds every row.
    expect(JSON.parse(run.stdout)).toMatchObject({ events: total, launchesWritten: total });
    expect(dv.rows("admin_auditlogs")).toHaveLength(total);
  }, 180_000);

  it("serve's passes log the drain's progress without a terminal, at most once a minute", async () => {
    const runtime = t.runtime();
    await runtime.ready();
    const apps = t.emulator.dataverse!.seededAppIds();
    // More than a round of writes waits in the outbox, as after a long outage of Dataverse.
    const waiting = 4500;
    await runtime.store.dataverseOutbox!.add(
      Array.from({ length: waiting }, (_, i) => ({
        kind: "launch" as const,
        recordId: `e0000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        creationTime: new Date(Date.parse("2026-03-04T12:00:00Z") + i * 1000).toISOString(),
        appId: apps[i % apps.length],
        appName: null,
        environmentId: null,
        userUpn: null,
        userKey: null,
        schema: "purview" as const,
      })),
    );
    const logged = t.logs.length;

    // A pass as serve runs it: no progress callback, so the log carries the progress.
    await runtime.sync();

    const lines = t.logs.slice(logged).map((l) => JSON.parse(l) as Record<string, unknown>);
    const progress = lines.filter((l) => l.msg === "dataverse drain progress");
    const synced = lines.find((l) => l.msg === "dataverse synced");
    // The first round is logged at once; any later line at least a minute after the one before.
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatchObject({ handled: 4000, launchesWritten: 4000 });
    expect(progress[0].total).toBeGreaterThanOrEqual(waiting);
    const times = progress.map((l) => Date.parse(String(l.time)));
    for (let i = 1; i < times.length; i++)
      expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(60_000);
    expect(synced?.launchesWritten).toBe(progress[0].total);
  }, 180_000);
});

/** A count as the progress line prints it (en-US grouping). */
function count(text: string): number {
  return Number(text.replaceAll(",", ""));
}
