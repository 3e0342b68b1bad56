/**
 * One figure of `npm run bench`, as written to bench/results.json. Every value is a ratio measured
 * in the same run (a variant against its baseline), so that it means the same on a noisy machine.
 */
export interface BenchResult {
  /** What was measured, e.g. "backfill wall time / quota-bound minimum". */
  name: string;
  value: number;
  /** The target as written in the issue, e.g. "<= 1.15". */
  target: string;
  ok: boolean;
}

/** A bench module (bench/*.bench.ts) exports one of these as default; bench/run.ts runs them all. */
export type Bench = () => Promise<BenchResult[]>;

export function atMost(name: string, value: number, limit: number): BenchResult {
  return { name, value: round(value), target: `<= ${limit}`, ok: value <= limit };
}

export function atLeast(name: string, value: number, limit: number): BenchResult {
  return { name, value: round(value), target: `>= ${limit}`, ok: value >= limit };
}

const round = (v: number) => Math.round(v * 1000) / 1000;
