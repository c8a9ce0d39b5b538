// `npm start`: builds (incrementally), then runs the whole system in one supervisor — the controller (with
// embedded PostgreSQL unless DATABASE_URL is set), the console and a local agent — prefixes their
// output, and on Ctrl-C / SIGTERM stops them all and waits for them, so nothing is left orphaned.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO, bin, log } from './lib/repo.mjs';

// One process from `npm start` down (no `sh -c a && b`), so signals reach this supervisor.
const build = spawnSync(process.execPath, [join(REPO, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const env = process.env;
const dataDir = env.PORTFLEET_DATA_DIR ?? join(REPO, '.data');
const httpPort = env.PORTFLEET_HTTP_PORT ?? '8080';
const grpcPort = env.PORTFLEET_GRPC_PORT ?? '50051';
const consolePort = env.PORTFLEET_CONSOLE_PORT ?? '3000';
const host = env.PORTFLEET_HOST ?? '127.0.0.1';
const agentStateDir = join(dataDir, 'agent');
mkdirSync(dataDir, { recursive: true });
chmodSync(dataDir, 0o755); // embedded Postgres runs as the `postgres` user when started by root

const children = new Set();
let stopping = false;

function start(name, args, options = {}) {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? REPO,
    env: { ...env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let waiters = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      process.stdout.write(`\x1b[2m[${name}]\x1b[0m ${line}\n`);
      waiters = waiters.filter((w) => !(w.re.test(line) && (w.resolve(line), true)));
    });
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    resolve(code);
    if (!stopping && !options.oneShot) {
      log('start', `${name} exited (code ${code}, signal ${signal}); stopping everything`);
      void shutdown(1);
    }
  }));
  const waitFor = (re) => new Promise((resolve, reject) => {
    waiters.push({ re, resolve });
    void exited.then((code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
  return { child, exited, waitFor };
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('start', 'stopping…');
  // Reverse start order: agent, console, then the controller (which stops its Postgres).
  for (const child of [...children].reverse()) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
    clearTimeout(timer);
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const enrolled = existsSync(join(agentStateDir, 'credential.json'));
const bootstrapToken = enrolled ? undefined : `pfe_${randomBytes(24).toString('base64url')}`;

try {
  const controller = start('controller', [join(REPO, 'controller/dist/main.js')], {
    env: {
      // Two malloc arenas: ~35 MB less RSS with 10,000 agents connected (docs/controller.md "Memory").
      MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
      PORTFLEET_DATA_DIR: join(dataDir, 'controller'),
      PORTFLEET_HTTP_PORT: httpPort,
      PORTFLEET_GRPC_PORT: grpcPort,
      PORTFLEET_HOST: host,
      ...(bootstrapToken ? { PORTFLEET_BOOTSTRAP_ENROLLMENT_TOKEN: bootstrapToken } : {}),
    },
  });
  await controller.waitFor(/PORTFLEET_CONTROLLER_READY/);

  const next = start('console', [bin('next/dist/bin/next'), 'start', '-p', consolePort, '-H', host], {
    cwd: join(REPO, 'console'),
    env: { PORTFLEET_CONTROLLER_URL: `http://127.0.0.1:${httpPort}` },
  });
  await next.waitFor(/Ready|Local:/i);

  if (env.PORTFLEET_LOCAL_AGENT !== '0') {
    const cli = join(REPO, 'agent/bin/portfleet-agent.js');
    if (bootstrapToken) {
      const enroll = start('agent', [cli, 'enroll', '--controller', `127.0.0.1:${grpcPort}`, '--token', bootstrapToken, '--state-dir', agentStateDir], { oneShot: true });
      if ((await enroll.exited) !== 0) throw new Error('the local agent could not enroll');
    }
    start('agent', [cli, 'run', '--state-dir', agentStateDir, '--dataplane', 'memory']);
  }

  log('start', `Portfleet is running. Console: http://${host === '0.0.0.0' ? 'localhost' : host}:${consolePort}  (controller HTTP :${httpPort}, gRPC :${grpcPort}, data in ${dataDir}). Ctrl-C stops everything.`);
} catch (error) {
  log('start', String(error instanceof Error ? error.message : error));
  await shutdown(1);
}
