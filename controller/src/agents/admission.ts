/**
 * Bounds how many handshakes run at once (a connect storm of thousands of agents must not queue
 * thousands of queries on a pool of ten). Waiters whose stream has gone meanwhile (the agent gave
 * up and will retry) are dropped when their turn comes, without doing work nobody waits for.
 */
export class Admission {
  private running = 0;
  private waiting: { abandoned: () => boolean; start: (admitted: boolean) => void }[] = [];
  private head = 0;

  constructor(private readonly limit: number) {}

  /** Runs `work` when a slot is free; resolves to undefined without running it when abandoned first. */
  async run<T>(abandoned: () => boolean, work: () => Promise<T>): Promise<T | undefined> {
    if (this.running < this.limit) this.running++;
    else if (!(await new Promise<boolean>((start) => this.waiting.push({ abandoned, start })))) return undefined;
    try {
      return abandoned() ? undefined : await work();
    } finally {
      this.release();
    }
  }

  /** Handshakes waiting for a slot. */
  queued(): number {
    return this.waiting.length - this.head;
  }

  /** Hands the slot to the next waiter still wanted (dropping the abandoned ones), or frees it. */
  private release(): void {
    while (this.head < this.waiting.length) {
      const next = this.waiting[this.head++]!;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      }
      if (!next.abandoned()) {
        next.start(true);
        return;
      }
      next.start(false);
    }
    this.running--;
  }
}
