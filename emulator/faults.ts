/**
 * Fault and latency decisions, drawn from one seeded stream in request order: the same seed and
 * the same sequence of requests give the same faults. Every fault is off unless its rate is set.
 */
import type { FaultOptions } from "./options";
import { Random } from "./random";

export type ApiFault = "reset" | "serverError" | null;
export type BodyFault = "truncate" | "slowBody" | null;

export interface FaultCounters {
  serverError: number;
  reset: number;
  truncated: number;
  slowBody: number;
  throttleStorm: number;
  tokenOutage: number;
  /** Revocations of every issued token (faults.revokeTokensAtRequests and emu.revokeTokens()). */
  tokenRevocations: number;
}

export class Faults {
  private readonly rng: Random;
  private stormUntilMs = 0;
  readonly counters: FaultCounters = {
    serverError: 0,
    reset: 0,
    truncated: 0,
    slowBody: 0,
    throttleStorm: 0,
    tokenOutage: 0,
    tokenRevocations: 0,
  };

  constructor(
    seed: string,
    private readonly options: Required<FaultOptions>,
    private readonly latencyMs: [number, number],
  ) {
    this.rng = new Random(seed, "faults");
  }

  latency(): number {
    const [min, max] = this.latencyMs;
    return max > 0 ? this.rng.between(min, max) : 0;
  }

  /** Decided before the request is handled: drop the connection, or answer 5xx. */
  beforeHandling(): ApiFault {
    if (this.rng.chance(this.options.resetRate)) {
      this.counters.reset++;
      return "reset";
    }
    if (this.rng.chance(this.options.serverErrorRate)) {
      this.counters.serverError++;
      return "serverError";
    }
    return null;
  }

  /** Which 5xx to answer: 500 AF50000 (the API's internal error) or a gateway's 503. */
  serverErrorStatus(): 500 | 503 {
    return this.rng.chance(0.5) ? 500 : 503;
  }

  /** Milliseconds left in a throttle storm, starting a new one by chance. Real time. */
  stormRemainingMs(): number {
    const now = Date.now();
    if (now >= this.stormUntilMs && this.rng.chance(this.options.throttleStormRate)) {
      this.stormUntilMs = now + this.options.throttleStormMs;
      this.counters.throttleStorm++;
    }
    return Math.max(0, this.stormUntilMs - now);
  }

  /** Decided for successful answers only: cut the body off, or let it trickle. */
  forBody(): BodyFault {
    if (this.rng.chance(this.options.truncateRate)) {
      this.counters.truncated++;
      return "truncate";
    }
    if (this.rng.chance(this.options.slowBodyRate)) {
      this.counters.slowBody++;
      return "slowBody";
    }
    return null;
  }

  get slowBodyMs(): number {
    return this.options.slowBodyMs;
  }

  /** A token endpoint outage: a 503 answer or a dropped connection. */
  tokenOutage(): "unavailable" | "reset" | null {
    if (!this.rng.chance(this.options.tokenOutageRate)) return null;
    this.counters.tokenOutage++;
    return this.rng.chance(0.5) ? "unavailable" : "reset";
  }

  /** For the "mixed" throttle answer. */
  coin(): boolean {
    return this.rng.chance(0.5);
  }
}
