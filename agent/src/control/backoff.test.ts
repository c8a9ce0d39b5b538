import { Backoff } from './backoff';

describe('Backoff', () => {
  it('grows exponentially and never exceeds the cap, whatever the randomness', () => {
    for (const r of [0, 0.5, 0.999999]) {
      const backoff = new Backoff({ initialMs: 100, maxMs: 5_000, random: () => r });
      const delays = Array.from({ length: 20 }, () => backoff.next());
      delays.forEach((delay, attempt) => {
        const ceiling = Math.min(5_000, 100 * 2 ** attempt);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      });
      expect(Math.max(...delays)).toBeLessThanOrEqual(5_000);
    }
  });

  it('spreads the delays of many agents (jitter) instead of synchronising them', () => {
    const delays = Array.from({ length: 200 }, () => {
      const backoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
      for (let i = 0; i < 9; i++) backoff.next();
      return backoff.next();
    });
    const distinct = new Set(delays.map((d) => Math.round(d / 100)));
    expect(distinct.size).toBeGreaterThan(50);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(15_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
  });

  it('starts small again after reset', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 10_000, random: () => 1 - Number.EPSILON });
    for (let i = 0; i < 10; i++) backoff.next();
    expect(backoff.ceiling()).toBe(10_000);
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(100);
  });

  it('rejects nonsense options', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});
