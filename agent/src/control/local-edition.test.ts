import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateLicenseKeyPair, issueLicenseKey, type License } from '@portfleet/proto';
import { activateLicense, localEdition } from './local-edition';
import { StateStore } from './state-store';

const DAY = 86_400_000;
const vendor = generateLicenseKeyPair();
const T0 = Date.UTC(2026, 0, 1);
const license = (over: Partial<License> = {}): License => ({ serial: 'PF-1', edition: 'pro', seats: 1, issuedTo: 'ACME', issuedAtMs: T0 - DAY, expiresAtMs: null, ...over });

describe('local edition (standalone)', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-license-'));
    store = new StateStore(path.join(dir, 'state'));
    await store.init();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is a 30-day trial from the first standalone start when no key is activated', async () => {
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 })).toMatchObject({ ok: true, edition: 'trial', startedAtMs: null });
    expect(await store.readTrial()).toBeNull(); // only `run --standalone` starts it
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0, startTrial: true })).toMatchObject({ ok: true, edition: 'trial', startedAtMs: T0, expiresAtMs: T0 + 30 * DAY });
    // Later starts do not move the start.
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 + 29 * DAY, startTrial: true })).toMatchObject({ ok: true, startedAtMs: T0 });
    const over = await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 + 30 * DAY, startTrial: true });
    expect(over).toEqual({ ok: false, errors: [expect.objectContaining({ code: 'TRIAL_EXPIRED', message: expect.stringMatching(/license activate KEY.*Basic keys are free/) })] });
  });

  it('is the activated key\'s edition; the key is stored 0600', async () => {
    const key = issueLicenseKey(license({ edition: 'basic' }), vendor.privateKeyPem);
    expect(await activateLicense(store, key, { publicKey: vendor.publicKeyPem, nowMs: T0 })).toMatchObject({ ok: true, license: { edition: 'basic' } });
    expect(statSync(store.path('license')).mode & 0o777).toBe(0o600);
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 + 1000 * DAY, startTrial: true })).toMatchObject({ ok: true, edition: 'basic', source: 'license' });
    expect(await store.readTrial()).toBeNull();
  });

  it('refuses to activate a forged, altered or expired key and keeps the one it had', async () => {
    const good = issueLicenseKey(license(), vendor.privateKeyPem);
    await activateLicense(store, good, { publicKey: vendor.publicKeyPem, nowMs: T0 });
    const forged = issueLicenseKey(license({ edition: 'ultimate' }), generateLicenseKeyPair().privateKeyPem);
    const expired = issueLicenseKey(license({ expiresAtMs: T0 - 1 }), vendor.privateKeyPem);
    for (const [key, code] of [[forged, 'INVALID_SIGNATURE'], [expired, 'LICENSE_EXPIRED'], [good.slice(0, -4), 'INVALID_LICENSE_FORMAT']] as const) {
      expect(await activateLicense(store, key, { publicKey: vendor.publicKeyPem, nowMs: T0 })).toEqual({ ok: false, errors: [expect.objectContaining({ code })] });
    }
    expect((await store.readLicense())?.key).toBe(good);
  });

  it('has no edition when the stored key expired or the file was tampered with', async () => {
    const key = issueLicenseKey(license({ expiresAtMs: T0 + DAY }), vendor.privateKeyPem);
    await activateLicense(store, key, { publicKey: vendor.publicKeyPem, nowMs: T0 });
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 + DAY })).toEqual({ ok: false, errors: [expect.objectContaining({ code: 'LICENSE_EXPIRED' })] });
    writeFileSync(store.path('license'), JSON.stringify({ key: key.replace('PF1-', 'PF1-e'), activatedAtMs: T0 }));
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 })).toMatchObject({ ok: false });
    writeFileSync(store.path('license'), '{"key":');
    expect(await localEdition(store, { publicKey: vendor.publicKeyPem, nowMs: T0 })).toEqual({ ok: false, errors: [expect.objectContaining({ code: 'STATE_FILE_CORRUPT' })] });
  });
});
