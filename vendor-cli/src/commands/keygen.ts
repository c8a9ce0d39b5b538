import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { generateLicenseKeyPair } from '@portfleet/proto';
import type { Command } from 'commander';
import { CliError } from '../cli-error';

export const PRIVATE_KEY_FILE = 'portfleet-vendor-private.pem';
export const PUBLIC_KEY_FILE = 'portfleet-vendor-public.pem';

export function keygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('create a new vendor key pair: the private key (0600) signs serial keys, the public key ships in the product')
    .requiredOption('--out <dir>', 'folder for the two PEM files (created if missing); existing keys are never overwritten')
    .action(async (options: { out: string }) => {
      await fs.mkdir(options.out, { recursive: true, mode: 0o700 });
      const privateFile = path.join(options.out, PRIVATE_KEY_FILE);
      const publicFile = path.join(options.out, PUBLIC_KEY_FILE);
      const { publicKeyPem, privateKeyPem } = generateLicenseKeyPair();
      // 'wx': an existing vendor key is irreplaceable (every issued serial depends on it).
      await fs.writeFile(privateFile, privateKeyPem, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        throw new CliError(error.code === 'EEXIST' ? `${privateFile} exists already; refusing to replace a vendor key` : `cannot write ${privateFile}: ${error.message}`);
      });
      await fs.writeFile(publicFile, publicKeyPem, { mode: 0o644, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
        await fs.rm(privateFile, { force: true }); // never leave half a pair
        throw new CliError(`cannot write ${publicFile}: ${error.message}`);
      });
      process.stdout.write(publicKeyPem);
      process.stderr.write(
        `wrote ${privateFile} (0600) and ${publicFile}.\n` +
          'Keep the private key OFFLINE (never in a repository, a controller or a build machine); ' +
          'ship only the public key (proto/src/editions/vendor-public-key.ts).\n',
      );
    });
}
