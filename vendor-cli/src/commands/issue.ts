import { readFile } from 'node:fs/promises';
import { issueLicenseKey, newLicenseSerial, verifyLicenseKey, type Edition } from '@portfleet/proto';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { CliError } from '../cli-error';
import { parseExpiryDate } from '../expiry-date';

interface IssueOptions {
  key: string;
  edition: Exclude<Edition, 'trial'>;
  seats: number;
  issuedTo: string;
  expires?: number;
  serial?: string;
}

function seatCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer ≥ 1');
  return n;
}

export function issueCommand(program: Command): void {
  program
    .command('issue')
    .description('sign a serial key and print it on stdout (the trial needs no key: it runs 30 days from first start)')
    .requiredOption('--key <file>', 'the vendor private key (PEM) from `keygen`')
    .addOption(new Option('--edition <edition>', 'edition the key grants').choices(['basic', 'pro', 'ultimate']).makeOptionMandatory())
    .requiredOption('--seats <n>', 'how many agents may run this edition', seatCount)
    .requiredOption('--issued-to <name>', 'licensee, shown in the console')
    .option('--expires <YYYY-MM-DD>', 'last day the key is valid (UTC); default: never expires', parseExpiryDate)
    .option('--serial <serial>', 'serial number (default: a new random one)')
    .action(async (options: IssueOptions) => {
      const pem = await readFile(options.key, 'utf8').catch((error: Error) => {
        throw new CliError(`cannot read the private key ${options.key}: ${error.message}`);
      });
      let privateKey;
      try {
        privateKey = createPrivateKey(pem);
      } catch (error) {
        throw new CliError(`${options.key} is not a PEM private key: ${(error as Error).message}`);
      }
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new CliError(`${options.key} is a ${privateKey.asymmetricKeyType} key; serial keys need the Ed25519 vendor key`);
      const issuedAtMs = Date.now();
      if (options.expires !== undefined && options.expires <= issuedAtMs) throw new CliError(`--expires: the date has passed`);
      let key: string;
      try {
        key = issueLicenseKey(
          { serial: options.serial ?? newLicenseSerial(), edition: options.edition, seats: options.seats, issuedTo: options.issuedTo, issuedAtMs, expiresAtMs: options.expires ?? null },
          privateKey,
        );
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      // Proves the key round-trips before anyone is given it.
      const check = verifyLicenseKey(key, createPublicKey(privateKey), issuedAtMs);
      if (!check.ok) throw new CliError(`internal error: the issued key does not verify (${check.errors[0]?.message})`);
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `issued serial ${check.value.serial}: ${check.value.edition}, ${check.value.seats} seats, to "${check.value.issuedTo}", ` +
          `${check.value.expiresAtMs === null ? 'no expiry' : `valid until ${new Date(check.value.expiresAtMs).toISOString()}`}\n`,
      );
    });
}
