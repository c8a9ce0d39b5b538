import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedPostgres } from '../../controller/dist/db/embedded-postgres';
import { freePort } from './ports';

/**
 * A PostgreSQL of the test's own (the embedded binaries, run by this process) that controllers
 * reach through DATABASE_URL: several replicas can share it, and a test can stop and start it
 * under them (same folder, same port, same URL).
 */
export class TestDatabase {
  private constructor(
    private server: EmbeddedPostgres | null,
    private readonly dir: string,
    private readonly port: number,
    readonly url: string,
  ) {}

  static async start(dataDir: string): Promise<TestDatabase> {
    const dir = join(dataDir, 'shared-postgres');
    const port = await freePort();
    const server = await EmbeddedPostgres.start({ dir, port, logger: quietLogger() });
    return new TestDatabase(server, dir, port, server.url);
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Fast shutdown: clients are disconnected, the server exits. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }

  /** Starts it again on the same data and port (a no-op while it runs). */
  async start(): Promise<void> {
    this.server ??= await EmbeddedPostgres.start({ dir: this.dir, port: this.port, logger: quietLogger() });
  }
}

function quietLogger() {
  return pino({ level: process.env.PORTFLEET_TEST_VERBOSE ? 'info' : 'silent' });
}
