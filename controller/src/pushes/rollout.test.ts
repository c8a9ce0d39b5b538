import { ValidationError } from '../errors/domain-error';
import { assignWaves, parseRollout, rolloutStep } from './rollout';

describe('rollout', () => {
  it('splits targets by cumulative percentage, at least one per wave', () => {
    expect(assignWaves(10, [10, 50, 100])).toEqual([0, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    expect(assignWaves(2, [10, 50, 100])).toEqual([0, 1]);
    expect(assignWaves(3, [1, 2, 100])).toEqual([0, 1, 2]);
  });

  it('names the bad field', () => {
    const field = (input: unknown) => {
      try {
        parseRollout(input);
        return 'ok';
      } catch (err) {
        return (err as ValidationError).field;
      }
    };
    expect(field({ waves: [50, 40, 100] })).toBe('rollout.waves[1]');
    expect(field({ waves: [50] })).toBe('rollout.waves[0]');
    expect(field({ waves: [100], maxFailurePercent: 101 })).toBe('rollout.maxFailurePercent');
    expect(field({ waves: [25, 100] })).toBe('ok');
  });

  it('waits, halts on failures above the threshold, releases the next wave, completes', () => {
    const t = (state: any, wave: number) => ({ state, wave });
    expect(rolloutStep([t('delivered', 0), t('waiting', 1)], 2, 0, 0)).toBe('wait');
    expect(rolloutStep([t('applied', 0), t('waiting', 1)], 2, 0, 0)).toBe('next');
    expect(rolloutStep([t('failed', 0), t('waiting', 1)], 2, 0, 0)).toBe('halt');
    expect(rolloutStep([t('failed', 0), t('applied', 0), t('waiting', 1)], 2, 0, 50)).toBe('next');
    expect(rolloutStep([t('failed', 0), t('failed', 0), t('applied', 0), t('waiting', 1)], 2, 0, 50)).toBe('halt');
    expect(rolloutStep([t('applied', 0), t('superseded', 1)], 2, 1, 0)).toBe('complete');
    // Judged per wave: the failure of wave 0 (accepted by a resume) does not halt after wave 1.
    expect(rolloutStep([t('failed', 0), t('applied', 1), t('waiting', 2)], 3, 1, 0)).toBe('next');
    // After the last wave there is nothing left to hold back.
    expect(rolloutStep([t('failed', 0), t('failed', 1)], 2, 1, 0)).toBe('complete');
    expect(rolloutStep([t('applied', 0), t('pending', 0)], 0, 0, 0)).toBe('wait');
    expect(rolloutStep([t('applied', 0), t('failed', 0)], 0, 0, 0)).toBe('complete');
    // Grouped counts weigh like single rows.
    expect(rolloutStep([{ state: 'failed', wave: 0, count: 1 }, { state: 'applied', wave: 0, count: 9 }, t('waiting', 1)], 2, 0, 10)).toBe('next');
    expect(rolloutStep([{ state: 'failed', wave: 0, count: 2 }, { state: 'applied', wave: 0, count: 8 }, t('waiting', 1)], 2, 0, 10)).toBe('halt');
  });
});
