/**
 * The emulator's notion of "now" for audit data: which blobs are listed, the 7-day rules,
 * expiry. Real time by default; simulated (frozen until set/advanced) when a start time is
 * given, so a test can run a week of a tenant in seconds. Token expiry and the quota use real
 * time on purpose: clients measure those with their own real clocks.
 */
export interface EmulatorClock {
  now(): Date;
  set(date: Date): void;
  advance(ms: number): void;
}

export function createClock(mode: "real" | "simulated", startTime?: Date): EmulatorClock {
  if (mode === "simulated") {
    let current = (startTime ?? new Date()).getTime();
    return {
      now: () => new Date(current),
      set: (date) => {
        current = checkedTime(date);
      },
      advance: (ms) => {
        current += checkedMs(ms);
      },
    };
  }
  // Real time plus an offset, so set/advance still work on a clock that keeps running.
  let offset = startTime ? startTime.getTime() - Date.now() : 0;
  return {
    now: () => new Date(Date.now() + offset),
    set: (date) => {
      offset = checkedTime(date) - Date.now();
    },
    advance: (ms) => {
      offset += checkedMs(ms);
    },
  };
}

function checkedTime(date: Date): number {
  const t = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(t)) throw new Error("clock.set needs a valid Date");
  return t;
}

function checkedMs(ms: number): number {
  if (!Number.isFinite(ms)) throw new Error(`clock.advance needs a finite number of ms, got ${ms}`);
  return ms;
}
