import { EDITIONS } from '@portfleet/proto';
import type { License } from '../generated/prisma/client';
import { licenseState, licenseView } from './license-state';

const DAY = 86_400_000;
const start = new Date('2026-01-01T00:00:00Z');
const license = (over: Partial<License> = {}): License => ({
  id: 'l',
  key: 'PF1-x.y',
  serial: 'PF-1',
  edition: 'pro',
  seats: 5,
  issuedTo: 'Acme',
  issuedAt: start,
  expiresAt: null,
  activatedBy: 'user:admin',
  activatedAt: start,
  ...over,
});

describe('licenseState', () => {
  it('runs the trial for 30 days from the first start, then expires', () => {
    const day29 = licenseState(start, null, start.getTime() + 29.5 * DAY);
    expect([day29.status, day29.edition, day29.seats]).toEqual(['trial', 'trial', null]);
    expect(licenseView(day29, 3, start.getTime() + 29.5 * DAY).trialDaysLeft).toBe(1);
    const over = licenseState(start, null, start.getTime() + 30 * DAY);
    expect([over.status, over.edition]).toEqual(['expired', null]);
    const view = licenseView(over, 0, start.getTime() + 31 * DAY);
    expect([view.trialDaysLeft, view.watermark, view.limits]).toEqual([0, true, null]);
  });

  it('uses the activated license, until it expires', () => {
    const l = license({ expiresAt: new Date(start.getTime() + 365 * DAY) });
    const now = start.getTime() + 40 * DAY;
    const state = licenseState(start, l, now);
    expect([state.status, state.edition, state.seats]).toEqual(['licensed', 'pro', 5]);
    const view = licenseView(state, 2, now);
    expect(view).toMatchObject({ serial: 'PF-1', issuedTo: 'Acme', seats: 5, seatsUsed: 2, trialDaysLeft: null, watermark: false, limits: EDITIONS.pro });
    expect(licenseState(start, l, start.getTime() + 366 * DAY).status).toBe('expired');
  });

  it('shows the watermark for Basic', () => {
    expect(licenseView(licenseState(start, license({ edition: 'basic' }), start.getTime()), 1, start.getTime()).watermark).toBe(true);
  });
});
