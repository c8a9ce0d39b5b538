export interface BatcherOptions {
  /** A batch is handled as soon as it holds this many items. */
  maxItems: number;
  /** …or this long after its first item arrived. */
  maxDelayMs: number;
  /** Batches handled at the same time; more items wait and join the next batch. */
  maxInFlight?: number;
  /**
   * What every caller of a failed batch gets instead of the error itself, given the error and the
   * batch's size: the place to log the cause once for the batch rather than once per caller.
   */
  failed?: (error: unknown, items: number) => unknown;
}

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers single-agent requests from many streams into one database round trip: `handle` gets
 * the items of a batch and returns one result per item, in order. When it throws, every caller
 * of that batch gets the error (or what `failed` makes of it).
 */
export class Batcher<I, R> {
  private pending: Pending<I, R>[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly handle: (items: I[]) => Promise<R[]>,
    private readonly options: BatcherOptions,
  ) {}

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.options.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
    });
  }

  /** Resolves when nothing is waiting or being handled (shutdown). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight > 0 || this.pending.length > 0) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
      this.flush();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.inFlight >= (this.options.maxInFlight ?? 2)) return;
    const batch = this.pending.splice(0, this.options.maxItems);
    this.inFlight++;
    void this.run(batch).finally(() => {
      this.inFlight--;
      if (this.pending.length > 0) this.flush();
      for (const wake of this.idle) wake();
      this.idle.clear();
    });
  }

  private async run(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.handle(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      const shown = this.options.failed ? this.options.failed(error, batch.length) : error;
      for (const p of batch) p.reject(shown);
    }
  }
}
