import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateLicenseKeyPair, issueLicenseKey, verifyLicenseKey } from '@portfleet/proto';
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './commands/keygen';
import { main } from './main';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'portfleet-license-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Runs the CLI in-process and collects what it writes. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(['node', 'portfleet-license', ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('portfleet-license', () => {
  it('keygen writes a 0600 private key and its public key, and never overwrites them', async () => {
    const out = path.join(dir, 'keys');
    const result = await cli('keygen', '--out', out);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/OFFLINE/);
    expect((await fs.stat(path.join(out, PRIVATE_KEY_FILE))).mode & 0o777).toBe(0o600);
    const publicPem = await fs.readFile(path.join(out, PUBLIC_KEY_FILE), 'utf8');
    expect(result.stdout).toBe(publicPem);

    const again = await cli('keygen', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
    expect(await fs.readFile(path.join(out, PUBLIC_KEY_FILE), 'utf8')).toBe(publicPem);
  });

  it('issues a key that verifies with the pair from keygen and grants what was asked', async () => {
    const out = path.join(dir, 'keys');
    await cli('keygen', '--out', out);
    const before = Date.now();
    const issued = await cli('issue', '--key', path.join(out, PRIVATE_KEY_FILE), '--edition', 'pro', '--seats', '10', '--issued-to', 'ACME', '--expires', '2099-12-31');
    expect(issued.code).toBe(0);
    const key = issued.stdout.trim();
    const verified = verifyLicenseKey(key, await fs.readFile(path.join(out, PUBLIC_KEY_FILE), 'utf8'));
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.value).toMatchObject({ edition: 'pro', seats: 10, issuedTo: 'ACME', expiresAtMs: Date.UTC(2100, 0, 1) });
    expect(verified.value.issuedAtMs).toBeGreaterThanOrEqual(before);

    const inspected = await cli('inspect', key, '--public-key', path.join(out, PUBLIC_KEY_FILE));
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ edition: 'pro', seats: 10, valid: true, expiresAt: '2100-01-01T00:00:00.000Z' });
  });

  it('inspect says a forged or altered key is not valid (exit 1) and still shows its payload', async () => {
    const vendor = generateLicenseKeyPair();
    await fs.writeFile(path.join(dir, 'vendor.pub'), vendor.publicKeyPem);
    const forged = issueLicenseKey({ serial: 'S', edition: 'ultimate', seats: 1, issuedTo: 'X', issuedAtMs: Date.now(), expiresAtMs: null }, generateLicenseKeyPair().privateKeyPem);
    const result = await cli('inspect', forged, '--public-key', path.join(dir, 'vendor.pub'));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ edition: 'ultimate', valid: false });
    expect(result.stderr).toMatch(/INVALID_SIGNATURE/);

    const garbage = await cli('inspect', 'PF1-nonsense', '--public-key', path.join(dir, 'vendor.pub'));
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/INVALID_LICENSE_FORMAT/);
  });

  it('inspect without --public-key uses the product key, which rejects keys of any other pair', async () => {
    const key = issueLicenseKey({ serial: 'S', edition: 'pro', seats: 1, issuedTo: 'X', issuedAtMs: Date.now(), expiresAtMs: null }, generateLicenseKeyPair().privateKeyPem);
    const result = await cli('inspect', key);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_SIGNATURE/);
  });

  it('refuses bad input naming the option', async () => {
    const out = path.join(dir, 'keys');
    await cli('keygen', '--out', out);
    const key = path.join(out, PRIVATE_KEY_FILE);
    const cases: [string[], RegExp][] = [
      [['--edition', 'trial', '--seats', '1', '--issued-to', 'A'], /--edition.*trial.*invalid|Allowed choices/i],
      [['--edition', 'pro', '--seats', '0', '--issued-to', 'A'], /--seats.*integer ≥ 1/],
      [['--edition', 'pro', '--seats', '1', '--issued-to', 'A', '--expires', '2027-02-30'], /--expires.*YYYY-MM-DD/],
      [['--edition', 'pro', '--seats', '1', '--issued-to', 'A', '--expires', '2001-01-01'], /--expires: the date has passed/],
      [['--edition', 'pro', '--seats', '1'], /--issued-to/],
    ];
    for (const [args, message] of cases) {
      const result = await cli('issue', '--key', key, ...args);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
    const missing = await cli('issue', '--key', path.join(dir, 'nope.pem'), '--edition', 'pro', '--seats', '1', '--issued-to', 'A');
    expect(missing.stderr).toMatch(/cannot read the private key/);
  });
});
