import { Batcher } from './batcher';

describe('Batcher', () => {
  it('handles items together, up to maxItems per batch, and answers each caller', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push(items);
      return items.map((i) => i * 10);
    }, { maxItems: 3, maxDelayMs: 5 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)));
    expect(results).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('fails every caller of a batch that failed, and goes on with the next', async () => {
    let fail = true;
    const batcher = new Batcher<string, string>(async (items) => {
      if (fail) throw new Error('database down');
      return items;
    }, { maxItems: 10, maxDelayMs: 1 });
    const failed = await Promise.allSettled([batcher.add('a'), batcher.add('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.add('c')).toBe('c');
  });

  it('gives the callers of a failed batch what `failed` makes of the error, called once per batch', async () => {
    const seen: [string, number][] = [];
    const batcher = new Batcher<string, string>(async () => {
      throw new Error('database down');
    }, { maxItems: 10, maxDelayMs: 1, failed: (err, items) => (seen.push([(err as Error).message, items]), new Error('unavailable')) });
    const failed = await Promise.allSettled([batcher.add('a'), batcher.add('b'), batcher.add('c')]);
    expect(failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.status))).toEqual(['unavailable', 'unavailable', 'unavailable']);
    expect(seen).toEqual([['database down', 3]]);
  });

  it('keeps at most maxInFlight batches running; drain waits for all of them', async () => {
    let running = 0;
    let most = 0;
    const batcher = new Batcher<number, number>(async (items) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return items;
    }, { maxItems: 1, maxDelayMs: 1, maxInFlight: 2 });
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((i) => batcher.add(i)));
    await batcher.drain();
    expect(running).toBe(0);
    expect(await all).toEqual([1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
  });
});
