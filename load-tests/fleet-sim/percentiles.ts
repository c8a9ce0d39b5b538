/** Nearest-rank percentiles of a sample (sorted once). */
export class Percentiles {
  private readonly sorted: Float64Array;

  constructor(values: Iterable<number>) {
    this.sorted = Float64Array.from(values).sort();
  }

  get count(): number {
    return this.sorted.length;
  }

  /** p in [0, 100]; NaN for an empty sample. */
  at(p: number): number {
    if (this.sorted.length === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.sorted.length);
    return this.sorted[Math.min(this.sorted.length - 1, Math.max(0, rank - 1))];
  }

  get max(): number {
    return this.at(100);
  }
}
