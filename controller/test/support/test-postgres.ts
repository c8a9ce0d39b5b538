import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EmbeddedPostgres } from '../../src/db/embedded-postgres';

/**
 * A temp folder the `postgres` user can reach (mkdtemp makes 0700 folders). Removed by the
 * returned cleanup.
 */
export function reachableTempDir(prefix: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export const quietLogger = () => pino({ level: process.env.PORTFLEET_TEST_VERBOSE ? 'debug' : 'silent' });

/** A real PostgreSQL for one suite, in its own temp folder. */
export async function startTestPostgres(): Promise<{ url: string; dir: string; stop(): Promise<void> }> {
  const tmp = reachableTempDir('pf-ctl-pg-');
  const pg = await EmbeddedPostgres.start({ dir: path.join(tmp.dir, 'postgres'), logger: quietLogger() });
  return {
    url: pg.url,
    dir: tmp.dir,
    stop: async () => {
      await pg.stop();
      tmp.remove();
    },
  };
}
