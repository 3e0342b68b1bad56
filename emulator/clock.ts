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

interface Sleeper {
  at: number;
  wake: () => void;
}

/**
 * Sleeps on a simulated clock, for a client that runs in the same process as the emulator and
 * takes its `sleep` as an option (the sync runtime's Graph pass does): a discrete-event
 * scheduler. A sleep ends when the clock reaches its end; the clock moves on to the earliest end
 * only once every busy task of the client sleeps (`busy()` says how many tasks are at work, and
 * `poke()` says that number changed), so the client's own work between sleeps takes no
 * simulated time and a day of queries runs in seconds. Should the count ever be off, the clock
 * still moves after `idleMs` of real time with sleepers and no other sign of life.
 */
export class SimulatedSleep {
  private sleepers: Sleeper[] = [];
  private checking = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly clock: EmulatorClock,
    private readonly busy: () => number,
    private readonly idleMs = 1000,
  ) {}

  /** The sleep to hand to the client. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = {
        at: this.clock.now().getTime() + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.poke();
    });

  /** The number of busy tasks may have changed: check whether the clock can move. */
  poke(): void {
    if (this.checking) return;
    this.checking = true;
    // Two turns of the event loop: whatever the change set off synchronously (a task that ends
    // lets the next one start) has started its own work by then.
    setImmediate(() =>
      setImmediate(() => {
        this.checking = false;
        this.check();
      }),
    );
  }

  private check(): void {
    clearTimeout(this.watchdog);
    if (this.sleepers.length === 0) return;
    if (this.sleepers.length < this.busy()) {
      this.watchdog = setTimeout(() => this.advance(), this.idleMs);
      this.watchdog.unref();
      return;
    }
    this.advance();
  }

  private advance(): void {
    clearTimeout(this.watchdog);
    if (this.sleepers.length === 0) return;
    const next = Math.min(...this.sleepers.map((s) => s.at));
    if (next > this.clock.now().getTime()) this.clock.set(new Date(next));
    const now = this.clock.now().getTime();
    const due = this.sleepers.filter((s) => s.at <= now);
    this.sleepers = this.sleepers.filter((s) => s.at > now);
    for (const s of due) s.wake();
  }
}
