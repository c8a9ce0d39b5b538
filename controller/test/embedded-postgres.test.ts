import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../src/db/embedded-postgres';
import { quietLogger, reachableTempDir } from './support/test-postgres';

jest.setTimeout(120_000);

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL', () => {
  let tmp: ReturnType<typeof reachableTempDir>;
  let dir: string;
  let pidFile: string;
  beforeAll(() => {
    tmp = reachableTempDir('pf-ctl-embedded-');
    dir = path.join(tmp.dir, 'postgres');
    pidFile = path.join(dir, 'data', 'postmaster.pid');
  });
  afterAll(() => tmp?.remove());

  it('initialises a cluster, keeps data across restarts, and stops its server', async () => {
    const first = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    const client = new Client({ connectionString: first.url });
    await client.connect();
    await client.query('CREATE TABLE kept (v int)');
    await client.query('INSERT INTO kept VALUES (42)');
    await client.end();
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    await first.stop();
    expect(isAlive(pid)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);

    const second = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    const again = new Client({ connectionString: second.url });
    await again.connect();
    expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 42 }]);
    await again.end();
    await second.stop();
  });

  it('starts although the previous owner died and left its server running (kill -9 of the controller)', async () => {
    const orphan = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    const orphanPid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    // The orphan is never stopped by its owner, as after a kill -9.
    const next = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    expect(isAlive(orphanPid)).toBe(false);
    expect(await answers(next.url)).toBe(true);
    expect(await answers(orphan.url)).toBe(false);
    await next.stop();
    await orphan.stop();
  });

  it('starts although a postmaster.pid names a process that is gone', async () => {
    fs.writeFileSync(pidFile, `999999\n${path.join(dir, 'data')}\n0\n5432\n`);
    const pg = await EmbeddedPostgres.start({ dir, logger: quietLogger() });
    expect(await answers(pg.url)).toBe(true);
    await pg.stop();
  });

  it('throws away a half-made first init instead of starting on it', async () => {
    const fresh = path.join(tmp.dir, 'fresh');
    fs.mkdirSync(path.join(fresh, 'data.initialising'), { recursive: true });
    fs.writeFileSync(path.join(fresh, 'data.initialising', 'PG_VERSION'), 'garbage');
    const pg = await EmbeddedPostgres.start({ dir: fresh, logger: quietLogger() });
    expect(await answers(pg.url)).toBe(true);
    expect(fs.existsSync(path.join(fresh, 'data.initialising'))).toBe(false);
    await pg.stop();
  });

  it('says clearly when the postgres user cannot reach the data folder', async () => {
    if (process.getuid?.() !== 0) return; // only root runs the server as another user
    const hidden = reachableTempDir('pf-ctl-hidden-');
    fs.chmodSync(hidden.dir, 0o700);
    try {
      await expect(EmbeddedPostgres.start({ dir: path.join(hidden.dir, 'pg'), logger: quietLogger() })).rejects.toThrow(/cannot reach .*PORTFLEET_DATA_DIR/);
    } finally {
      hidden.remove();
    }
  });
});
