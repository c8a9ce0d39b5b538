import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { generateLicenseKeyPair, issueLicenseKey, LICENSE_KEY_PREFIX, newLicenseSerial, readLicenseKeyUnverified, verifyLicenseKey, type License } from './license';
import { LICENSE_PUBLIC_KEY_ENV, licensePublicKey, VENDOR_LICENSE_PUBLIC_KEY_PEM } from './vendor-public-key';

const vendor = generateLicenseKeyPair();
const NOW = Date.UTC(2026, 10, 25);
const license: License = { serial: 'PF-0001', edition: 'pro', seats: 10, issuedTo: 'ACME Corp', issuedAtMs: NOW - 1_000, expiresAtMs: NOW + 86_400_000 };

function codes(result: ReturnType<typeof verifyLicenseKey>): string[] {
  return result.ok ? [] : result.errors.map((e) => e.code);
}

/** Re-encodes the payload of a valid key with a change, keeping the original signature. */
function withPayload(key: string, change: (payload: Record<string, unknown>) => void): string {
  const [payload, signature] = key.slice(LICENSE_KEY_PREFIX.length).split('.');
  const json = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(json);
  return `${LICENSE_KEY_PREFIX}${Buffer.from(JSON.stringify(json)).toString('base64url')}.${signature}`;
}

describe('serial keys', () => {
  it('verify with the issuing pair and give back the payload', () => {
    const key = issueLicenseKey(license, vendor.privateKeyPem);
    expect(key).toMatch(/^PF1-[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyLicenseKey(key, vendor.publicKeyPem, NOW)).toEqual({ ok: true, value: license });
    expect(verifyLicenseKey(`  ${key}\n`, vendor.publicKeyPem, NOW).ok).toBe(true);
  });

  it('without expiry never expire', () => {
    const key = issueLicenseKey({ ...license, expiresAtMs: null }, vendor.privateKeyPem);
    expect(verifyLicenseKey(key, vendor.publicKeyPem, NOW + 100 * 365 * 86_400_000).ok).toBe(true);
  });

  it('forged by another key are rejected', () => {
    const forger = generateLicenseKeyPair();
    const forged = issueLicenseKey({ ...license, edition: 'ultimate' }, forger.privateKeyPem);
    expect(codes(verifyLicenseKey(forged, vendor.publicKeyPem, NOW))).toEqual(['INVALID_SIGNATURE']);
  });

  it('altered in any field are rejected', () => {
    const key = issueLicenseKey(license, vendor.privateKeyPem);
    for (const change of [
      (p: Record<string, unknown>) => (p.edition = 'ultimate'),
      (p: Record<string, unknown>) => (p.seats = 1000),
      (p: Record<string, unknown>) => (p.expiresAtMs = null),
      (p: Record<string, unknown>) => (p.issuedTo = 'Mallory'),
    ]) {
      expect(codes(verifyLicenseKey(withPayload(key, change), vendor.publicKeyPem, NOW))).toEqual(['INVALID_SIGNATURE']);
    }
    const flipped = key.slice(0, -2) + (key.at(-2) === 'A' ? 'B' : 'A') + key.at(-1);
    expect(codes(verifyLicenseKey(flipped, vendor.publicKeyPem, NOW))).toEqual(['INVALID_SIGNATURE']);
  });

  it('truncated, with a wrong prefix or not base64url are format errors naming licenseKey', () => {
    const key = issueLicenseKey(license, vendor.privateKeyPem);
    for (const text of [key.slice(0, -10), key.slice(0, key.indexOf('.')), `PF2-${key.slice(4)}`, key.replace('PF1-', ''), `${key}.extra`, 'PF1-a b.c', '', 'x'.repeat(5000)]) {
      const result = verifyLicenseKey(text, vendor.publicKeyPem, NOW);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors).toEqual([expect.objectContaining({ field: 'licenseKey', code: 'INVALID_LICENSE_FORMAT' })]);
    }
  });

  it('expired are rejected with LICENSE_EXPIRED from the expiry instant on', () => {
    const key = issueLicenseKey(license, vendor.privateKeyPem);
    expect(verifyLicenseKey(key, vendor.publicKeyPem, license.expiresAtMs! - 1).ok).toBe(true);
    const result = verifyLicenseKey(key, vendor.publicKeyPem, license.expiresAtMs!);
    expect(result).toEqual({ ok: false, errors: [expect.objectContaining({ field: 'licenseKey.expiresAtMs', code: 'LICENSE_EXPIRED' })] });
  });

  it('signed over a malformed payload are rejected field by field', () => {
    // A vendor bug must not grant anything: sign a bad payload by hand.
    const payload = Buffer.from(JSON.stringify({ serial: '', edition: 'gold', seats: 0, issuedTo: 'x', issuedAtMs: 1, expiresAtMs: 'never', extra: 1 }));
    const key = `PF1-${payload.toString('base64url')}.${sign(null, payload, createPrivateKey(vendor.privateKeyPem)).toString('base64url')}`;
    const result = verifyLicenseKey(key, vendor.publicKeyPem, NOW);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.field).sort()).toEqual(
        ['licenseKey.edition', 'licenseKey.expiresAtMs', 'licenseKey.extra', 'licenseKey.seats', 'licenseKey.serial'].sort(),
      );
    }
  });

  it('are not issued from an invalid license or a non-Ed25519 key', () => {
    expect(() => issueLicenseKey({ ...license, seats: 0 }, vendor.privateKeyPem)).toThrow(/seats/);
    expect(() => issueLicenseKey({ ...license, expiresAtMs: license.issuedAtMs }, vendor.privateKeyPem)).toThrow(/expiresAtMs/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => issueLicenseKey(license, rsa.privateKey)).toThrow(/Ed25519/);
    expect(() => verifyLicenseKey('PF1-a.b', rsa.publicKey, NOW)).toThrow(/Ed25519/);
  });

  it('can be read unverified for inspection', () => {
    const forged = issueLicenseKey(license, generateLicenseKeyPair().privateKeyPem);
    expect(readLicenseKeyUnverified(forged)).toEqual({ ok: true, value: license });
  });

  it('get distinct serials', () => {
    const serials = new Set(Array.from({ length: 50 }, newLicenseSerial));
    expect(serials.size).toBe(50);
    expect([...serials][0]).toMatch(/^PF-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/);
  });
});

describe('the license public key', () => {
  it('is the vendor key unless the environment overrides it', () => {
    expect(licensePublicKey({})).toBe(VENDOR_LICENSE_PUBLIC_KEY_PEM);
    expect(licensePublicKey({ [LICENSE_PUBLIC_KEY_ENV]: vendor.publicKeyPem })).toBe(vendor.publicKeyPem.trim() + '\n');
    // One-line form (\n escaped), as env files often hold it.
    expect(licensePublicKey({ [LICENSE_PUBLIC_KEY_ENV]: vendor.publicKeyPem.trim().replace(/\n/g, '\\n') })).toBe(vendor.publicKeyPem.trim() + '\n');
  });

  it('is a real Ed25519 key whose private half is not in the repository', () => {
    const key = issueLicenseKey(license, vendor.privateKeyPem);
    // The product key rejects keys of any other pair (including every test pair).
    expect(codes(verifyLicenseKey(key, VENDOR_LICENSE_PUBLIC_KEY_PEM, NOW))).toEqual(['INVALID_SIGNATURE']);
  });
});
