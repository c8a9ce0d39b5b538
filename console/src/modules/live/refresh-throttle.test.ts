import { refreshThrottle } from './refresh-throttle';

describe('refreshThrottle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A reload that takes `ms`, logging when it started. */
  function reloads(ms: number) {
    const starts: number[] = [];
    const run = () => {
      starts.push(Date.now());
      return new Promise<void>((resolve) => setTimeout(resolve, ms));
    };
    return { starts, run };
  }

  it('reloads once for a burst, after it settles', async () => {
    const { starts, run } = reloads(10);
    const t0 = Date.now();
    const throttle = refreshThrottle(run, 1000, 250);
    for (let i = 0; i < 100; i++) throttle.request();
    await jest.advanceTimersByTimeAsync(249);
    expect(starts).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(starts.map((t) => t - t0)).toEqual([250]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(starts).toHaveLength(1);
  });

  it('under a steady stream of changes reloads about once per interval, not per change', async () => {
    const { starts, run } = reloads(50);
    const throttle = refreshThrottle(run, 1000, 250);
    for (let ms = 0; ms < 10_000; ms += 20) {
      throttle.request();
      await jest.advanceTimersByTimeAsync(20);
    }
    expect(starts.length).toBeGreaterThanOrEqual(9);
    expect(starts.length).toBeLessThanOrEqual(10);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(1000);
  });

  it('never runs two reloads at once: a slow one is followed by exactly one more', async () => {
    const { starts, run } = reloads(3000);
    const throttle = refreshThrottle(run, 1000, 250);
    throttle.request();
    await jest.advanceTimersByTimeAsync(300); // the first reload runs until 3250
    for (let i = 0; i < 10; i++) throttle.request();
    await jest.advanceTimersByTimeAsync(2900);
    expect(starts).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(300); // done at 3250, the next one 250 ms later
    expect(starts).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(starts).toHaveLength(2);
  });

  it('cancel drops a pending reload', async () => {
    const { starts, run } = reloads(10);
    const throttle = refreshThrottle(run, 1000, 250);
    throttle.request();
    throttle.cancel();
    await jest.advanceTimersByTimeAsync(5000);
    expect(starts).toEqual([]);
  });
});
