/**
 * Capped exponential backoff with jitter. The cap keeps a fleet from waiting for ages after a long
 * outage; the jitter spreads the reconnects of many agents so a restarted controller is not
 * stampeded by all of them at the same instant.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay. */
  initialMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
  /** Growth of the ceiling per failed attempt (default 2). */
  factor?: number;
  /** Source of randomness in [0, 1); injectable so the bounds can be tested. */
  random?: () => number;
}

export const DEFAULT_RECONNECT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError('backoff: need 0 < initialMs <= maxMs');
    }
  }

  /** The ceiling for the current attempt: initialMs · factor^attempt, capped at maxMs. */
  ceiling(): number {
    const { initialMs, maxMs, factor = 2 } = this.options;
    return Math.min(maxMs, initialMs * Math.pow(factor, this.attempt));
  }

  /**
   * The delay before the next attempt, uniformly random in [ceiling/2, ceiling] ("equal jitter":
   * never zero, so a flapping controller is not hammered, yet still spread out).
   */
  next(): number {
    const ceiling = this.ceiling();
    const random = this.options.random ?? Math.random;
    this.attempt = Math.min(this.attempt + 1, 64);
    return ceiling / 2 + random() * (ceiling / 2);
  }

  /** After a successful connection the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }
}
