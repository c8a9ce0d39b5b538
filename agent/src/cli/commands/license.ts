import { EDITION_NAMES, EDITIONS, formatFieldErrors, licensePublicKey, LICENSE_PUBLIC_KEY_ENV } from '@portfleet/proto';
import type { Command } from 'commander';
import { activateLicense, localEdition } from '../../control/local-edition';
import { StateStore } from '../../control/state-store';
import { CliError } from '../cli-error';
import { EXIT_LICENSE } from '../exit-codes';
import { stateDirOption } from '../state-dir-option';

export function licenseCommand(program: Command): void {
  const license = program
    .command('license')
    .description(`the serial key of a standalone host (verified offline with the vendor key; env ${LICENSE_PUBLIC_KEY_ENV} overrides it)`);

  license
    .command('activate')
    .description('verify KEY and store it in the state folder (0600); a standalone agent uses its edition from its next start')
    .argument('<key>', 'serial key, PF1-…')
    .addOption(stateDirOption())
    .action(async (key: string, options: { stateDir: string }) => {
      const store = new StateStore(options.stateDir);
      const result = await activateLicense(store, key, { publicKey: licensePublicKey() });
      if (!result.ok) throw new CliError(`the serial key was not activated:\n${formatFieldErrors(result.errors)}`, EXIT_LICENSE);
      const { edition, seats, issuedTo, serial, expiresAtMs } = result.license;
      process.stderr.write(
        `activated serial ${serial}: ${EDITION_NAMES[edition]} edition for "${issuedTo}" (${seats} seats), ` +
          `${expiresAtMs === null ? 'no expiry' : `valid until ${new Date(expiresAtMs).toISOString()}`}; stored in ${store.path('license')}\n`,
      );
    });

  license
    .command('show')
    .description('print the edition this host runs standalone (exit 3 when none: trial over or key not valid)')
    .option('--json', 'print one JSON object')
    .addOption(stateDirOption())
    .action(async (options: { stateDir: string; json?: boolean }) => {
      const store = new StateStore(options.stateDir);
      const local = await localEdition(store, { publicKey: licensePublicKey() });
      const shown = local.ok
        ? {
            valid: true,
            edition: local.edition,
            source: local.source,
            watermark: EDITIONS[local.edition].watermark,
            maxRules: EDITIONS[local.edition].maxRules,
            ...(local.source === 'license'
              ? { serial: local.license.serial, issuedTo: local.license.issuedTo, seats: local.license.seats, issuedAt: iso(local.license.issuedAtMs), expiresAt: iso(local.license.expiresAtMs) }
              : { trialStartedAt: iso(local.startedAtMs), trialEndsAt: iso(local.expiresAtMs) }),
          }
        : { valid: false, errors: local.errors };
      if (options.json) process.stdout.write(`${JSON.stringify(shown)}\n`);
      else if (local.ok) {
        const lines = [`edition:  ${EDITION_NAMES[local.edition]} (${local.source === 'license' ? 'serial key' : 'trial, no serial key'})`];
        if (local.source === 'license') {
          const l = local.license;
          lines.push(`serial:   ${l.serial}`, `licensee: ${l.issuedTo} (${l.seats} seats)`, `expires:  ${iso(l.expiresAtMs) ?? 'never'}`);
        } else {
          lines.push(`trial:    ${local.startedAtMs === null ? 'starts with the first `run --standalone`' : `started ${iso(local.startedAtMs)}`}, ends ${iso(local.expiresAtMs)}`);
        }
        lines.push(`rules:    up to ${EDITIONS[local.edition].maxRules}${EDITIONS[local.edition].watermark ? ' (watermarked edition)' : ''}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (!local.ok) throw new CliError(`no usable edition:\n${formatFieldErrors(local.errors)}`, EXIT_LICENSE);
    });
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
