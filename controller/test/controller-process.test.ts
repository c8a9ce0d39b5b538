import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HttpClient } from './support/test-controller';
import { reachableTempDir } from './support/test-postgres';

jest.setTimeout(180_000);

const MAIN = path.resolve(__dirname, '..', 'dist', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORTFLEET_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function ready(p: Proc): Promise<string> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const m = /PORTFLEET_CONTROLLER_READY http=(\S+) grpc=(\S+)/.exec(p.stdout());
    if (m) return m[1]!;
    if (p.child.exitCode !== null) throw new Error(`controller exited ${p.child.exitCode}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`controller not ready: ${p.stdout()} ${p.stderr()}`);
}

function postgresPid(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the controller process (node controller/dist/main.js)', () => {
  beforeAll(() => {
    if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  });

  it('exits 1 naming a bad variable', async () => {
    const p = run({ PORTFLEET_HTTP_PORT: 'eighty' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/invalid configuration: PORTFLEET_HTTP_PORT: /);
  });

  it('prints generated admin credentials once, survives kill -9, and stops cleanly on SIGTERM', async () => {
    const tmp = reachableTempDir('pf-ctl-proc-');
    const dataDir = path.join(tmp.dir, 'controller');
    const env = { PORTFLEET_DATA_DIR: dataDir, PORTFLEET_HTTP_PORT: String(await freePort()), PORTFLEET_GRPC_PORT: String(await freePort()) };
    const orphans: number[] = [];
    try {
      const first = run(env);
      const url = await ready(first);
      const banner = /PORTFLEET FIRST RUN[\s\S]*username: (\S+)\s+password: (\S+)/.exec(first.stdout());
      expect(banner).not.toBeNull();
      const password = banner![2]!;
      await HttpClient.login(url, banner![1], password);
      expect(fs.readFileSync(path.join(dataDir, 'postgres', 'data', 'PG_VERSION'), 'utf8')).toMatch(/^\d+/);

      const pgPid = postgresPid(dataDir);
      orphans.push(pgPid);
      first.child.kill('SIGKILL');
      await first.exited;
      expect(isAlive(pgPid)).toBe(true); // the server outlived its owner

      const second = run(env);
      const url2 = await ready(second);
      expect(second.stdout()).not.toMatch(/PORTFLEET FIRST RUN/);
      expect(isAlive(pgPid)).toBe(false);
      await HttpClient.login(url2, 'admin', password);
      const health = await fetch(`${url2}/healthz`);
      expect(health.status).toBe(200);

      const pgPid2 = postgresPid(dataDir);
      orphans.push(pgPid2);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      expect(isAlive(pgPid2)).toBe(false);
    } finally {
      for (const pid of orphans) if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
      tmp.remove();
    }
  });
});
