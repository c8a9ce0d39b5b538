import { DEFAULT_ROLLOUT, rolloutOf } from './rollout';

describe('rollout options', () => {
  it('sends nothing when not staged', () => {
    expect(rolloutOf(DEFAULT_ROLLOUT)).toBeUndefined();
  });

  it('turns the typed waves and threshold into numbers', () => {
    expect(rolloutOf({ staged: true, waves: ' 10,50 , 100,', maxFailurePercent: '20' })).toEqual({ waves: [10, 50, 100], maxFailurePercent: 20 });
    expect(rolloutOf({ staged: true, waves: '100', maxFailurePercent: '' })).toEqual({ waves: [100] });
  });

  it('keeps what is not a number as typed, for the controller to name', () => {
    expect(rolloutOf({ staged: true, waves: '10, half', maxFailurePercent: '0' })).toEqual({ waves: [10, 'half'], maxFailurePercent: 0 });
  });
});
