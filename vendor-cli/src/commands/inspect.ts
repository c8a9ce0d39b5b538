import { readFile } from 'node:fs/promises';
import { formatFieldErrors, licensePublicKey, readLicenseKeyUnverified, verifyLicenseKey } from '@portfleet/proto';
import type { Command } from 'commander';
import { CliError } from '../cli-error';

export function inspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('print what a serial key grants and whether it verifies (exit 0 only for a valid key)')
    .argument('<key>', 'the serial key (PF1-…)')
    .option('--public-key <file>', 'verify with this public key (PEM) instead of the product key (or PORTFLEET_LICENSE_PUBLIC_KEY)')
    .action(async (key: string, options: { publicKey?: string }) => {
      const publicKey = options.publicKey ? await readFile(options.publicKey, 'utf8') : licensePublicKey();
      const payload = readLicenseKeyUnverified(key);
      if (!payload.ok) throw new CliError(`not a serial key:\n${formatFieldErrors(payload.errors)}`);
      const verified = verifyLicenseKey(key, publicKey);
      const { expiresAtMs, issuedAtMs } = payload.value;
      const shown = {
        ...payload.value,
        issuedAt: new Date(issuedAtMs).toISOString(),
        expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs).toISOString(),
        valid: verified.ok,
      };
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      if (!verified.ok) throw new CliError(`the key is not valid:\n${formatFieldErrors(verified.errors)}`);
    });
}
