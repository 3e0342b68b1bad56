/**
 * Seeds a storage account with a synthetic tenant's week of launches for bench/report.bench.ts,
 * the fastest honest way: events are generated in memory (a fixed tenant of 200 apps, each
 * launched by its own audience of 300 of 20,000 users, at random times over the 7 UTC days),
 * rolled up day by day by the runtime's own RollupBuilder and stored by its own storeDayRollups
 * (user dictionary, then rows), exactly the rows a pass would leave. With `events: true` the same events also go to the
 * launches table through the runtime's EventsTable (what today's report reads); that costs one
 * table transaction per 100 launches, so the bench does it only for the small tenant and for
 * the "before" figures.
 */
import { storeDayRollups } from "../sync-runtime/src/app/rollups";
import { RollupBuilder } from "../sync-runtime/src/domain/rollup";
import type { PowerAppEvent } from "../sync-runtime/src/domain/records";
import type { EventsTable } from "../sync-runtime/src/storage/events";
import type { RollupsTable } from "../sync-runtime/src/storage/rollups";

export const BENCH_APPS = 200;
const AUDIENCE = 300;
const USERS = 20_000;
const DAY_MS = 86_400_000;

/** A small seeded generator, so two runs seed the same tenant. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The launches of one UTC day (`dayStart` ms), `count` of them. */
function* launchesOfDay(dayStart: number, count: number, seed: number): Generator<PowerAppEvent> {
  const next = random(seed);
  for (let i = 0; i < count; i++) {
    const app = Math.floor(next() * BENCH_APPS);
    const user = (app * 97 + Math.floor(next() * AUDIENCE)) % USERS;
    yield {
      kind: "launch",
      recordId: `${seed.toString(16)}-${i.toString(16).padStart(8, "0")}-bench`,
      creationTime: new Date(dayStart + Math.floor(next() * DAY_MS)).toISOString(),
      appId: `00000000-0000-4000-8000-${app.toString().padStart(12, "0")}`,
      appName: `App ${app}`,
      environmentId: `env-${app % 5}`,
      userUpn: `user${user}@contoso.example`,
      userKey: null,
      schema: "purview",
    };
  }
}

/** Seeds `launches` launches over the 7 UTC days starting at `firstDay` (ms, midnight UTC). */
export async function seedWeek(
  store: { rollups: RollupsTable; launches?: EventsTable },
  firstDay: number,
  launches: number,
): Promise<void> {
  const dictionary = await store.rollups.loadUserIds();
  for (let d = 0; d < 7; d++) {
    const count = Math.floor(launches / 7) + (d < launches % 7 ? 1 : 0);
    const builder = new RollupBuilder();
    let batch: PowerAppEvent[] = [];
    for (const e of launchesOfDay(firstDay + d * DAY_MS, count, d + 1)) {
      builder.add(e);
      if (store.launches) {
        batch.push(e);
        if (batch.length === 5_000) {
          await store.launches.write(batch);
          batch = [];
        }
      }
    }
    if (store.launches && batch.length > 0) await store.launches.write(batch);
    const day = new Date(firstDay + d * DAY_MS).toISOString().slice(0, 10);
    await storeDayRollups(store.rollups, dictionary, day, builder.rollups());
  }
  await store.rollups.markBuilt();
}
