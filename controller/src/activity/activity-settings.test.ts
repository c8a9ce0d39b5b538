import { ConfigError } from '../config';
import { activitySettings } from './activity-settings';

describe('activitySettings', () => {
  it('has defaults and reads the PORTFLEET_ACTIVITY_* variables', () => {
    expect(activitySettings({})).toEqual({ minuteRetentionMs: 48 * 3_600_000, retentionMs: 90 * 86_400_000, retentionIntervalMs: 600_000, queueReports: 100_000, queueSamples: 1_000_000, queueWaitMs: 30_000, writers: 2, rollupIntervalMs: 5_000 });
    expect(activitySettings({ PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS: '6', PORTFLEET_ACTIVITY_WRITERS: '1' })).toMatchObject({ minuteRetentionMs: 6 * 3_600_000, writers: 1 });
  });

  it('names the variable that is wrong', () => {
    expect(() => activitySettings({ PORTFLEET_ACTIVITY_WRITERS: 'two' })).toThrow(new ConfigError('PORTFLEET_ACTIVITY_WRITERS', 'Invalid input: expected number, received NaN'));
    expect(() => activitySettings({ PORTFLEET_ACTIVITY_RETENTION_DAYS: '1', PORTFLEET_ACTIVITY_MINUTE_RETENTION_HOURS: '48' })).toThrow(/^PORTFLEET_ACTIVITY_RETENTION_DAYS: must cover/);
  });
});
