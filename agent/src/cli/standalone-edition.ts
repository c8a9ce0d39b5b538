import { EDITION_NAMES, formatFieldErrors, licensePublicKey, type Edition } from '@portfleet/proto';
import type { Logger } from 'pino';
import { localEdition } from '../control/local-edition';
import type { StateStore } from '../control/state-store';
import { CliError } from './cli-error';
import { EXIT_LICENSE } from './exit-codes';
import { announce } from './log';

/** `run --standalone`: the edition to hold every list to (starting the trial on first use), or exit 3. */
export async function standaloneEditionOf(store: StateStore, log: Logger): Promise<Edition> {
  await store.init();
  const local = await localEdition(store, { publicKey: licensePublicKey(), startTrial: true });
  if (!local.ok) throw new CliError(`cannot run standalone: no usable edition:\n${formatFieldErrors(local.errors)}`, EXIT_LICENSE);
  log.info(
    {
      event: 'license.edition',
      edition: local.edition,
      source: local.source,
      ...(local.source === 'trial' ? { trialEndsAt: new Date(local.expiresAtMs).toISOString() } : { serial: local.license.serial }),
    },
    `standalone: ${EDITION_NAMES[local.edition]} edition (${local.source === 'trial' ? 'trial' : 'serial key'})`,
  );
  announce(`PORTFLEET_AGENT_EDITION edition=${local.edition} source=${local.source}`);
  return local.edition;
}
