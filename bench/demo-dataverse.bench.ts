/**
 * Issue 24: `npm run demo -- --dataverse` against plain `npm run demo`, the demo's own tenant and
 * settings, run back to back in this process (quiet), plain first: the Dataverse sink's share of
 * the demo's wall time. Both must also pass their comparisons (the report against the ground
 * truth; with Dataverse, the CoE tables against the report).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDemo } from "../demo/run-demo";
import { atMost, type Bench } from "./result";

const say = (line: string) => process.stdout.write(`${line}\n`);

async function timedDemo(dataverse: boolean): Promise<number> {
  const outDir = await mkdtemp(join(tmpdir(), "coe-demo-bench-"));
  try {
    const started = performance.now();
    const result = await runDemo({ quiet: true, outDir, dataverse });
    const seconds = (performance.now() - started) / 1000;
    if (result.differences.length)
      throw new Error(`the demo${dataverse ? " --dataverse" : ""} found differences`);
    say(`demo${dataverse ? " --dataverse" : ""}: ${seconds.toFixed(1)} s`);
    return seconds;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const bench: Bench = async () => {
  const plain = await timedDemo(false);
  const withDataverse = await timedDemo(true);
  return [atMost("demo --dataverse wall time / plain demo", withDataverse / plain, 2)];
};

export default bench;
