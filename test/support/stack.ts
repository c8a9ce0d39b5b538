import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import { ApiSession } from './api';
import { TestDatabase } from './database';
import { freePort } from './ports';
import { Service } from './service';

export const REPO = resolve(__dirname, '../..');

export interface AgentHandle {
  id: string;
  name: string;
  stateDir: string;
  /** Unix socket of the memory data plane's packet tap. */
  tap: string;
  service: Service;
  /**
   * Starts the agent process again on the same state folder (after stop/kill). Waits until it is
   * connected, or with `waitConnected: false` only until its tap listens (controller down).
   */
  restart(options?: { waitConnected?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** A further controller replica on the stack's database (`sharedDatabase`). */
export interface Replica {
  httpUrl: string;
  grpcAddress: string;
  /** The running process (replaced by `restart`). */
  service: Service;
  /** Starts it again (after `service.kill()` or `stop`) on the same ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface Stack {
  httpUrl: string;
  grpcAddress: string;
  consoleUrl: string | null;
  adminPassword: string;
  dataDir: string;
  /** The running controller process (replaced by `restartController`). */
  controller: Service;
  /** With `sharedDatabase`: the PostgreSQL the controllers share (stop/start it under them). */
  database: TestDatabase | null;
  /** With `sharedDatabase`: another controller replica on the same database (and data folder, so the same TLS CA). */
  startReplica(): Promise<Replica>;
  /** Stops the controller if it still runs (SIGTERM; `controller.kill()` first for a crash) and starts it again on the same data folder and ports. */
  restartController(): Promise<void>;
  login(): Promise<ApiSession>;
  /**
   * `token`: enroll with this enrollment token (e.g. one a browser test created) instead of a new one.
   * `controllers`: the gRPC addresses the agent enrolls with and fails over between (default: the
   * first controller's).
   */
  startAgent(options?: { name?: string; reportIntervalMs?: number; token?: string; controllers?: string[] }): Promise<AgentHandle>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Also start the console (`next start`); needs `npm run build` first. */
  console?: boolean;
  /** Extra environment for the controller (e.g. `PORTFLEET_LICENSE_PUBLIC_KEY` for test serial keys). */
  controllerEnv?: Record<string, string>;
  /** gRPC over TLS (PORTFLEET_GRPC_INSECURE=0); agents enroll with the CA fingerprint and use mutual TLS. */
  tls?: boolean;
  /**
   * The harness runs PostgreSQL itself and every controller uses it through DATABASE_URL: needed
   * for `startReplica` and for stopping/starting the database under a running controller.
   */
  sharedDatabase?: boolean;
}

/**
 * Starts the real system from the built output: the controller on its own embedded PostgreSQL in
 * a temp folder, optionally the console, and agents on demand (enrolled through the real API).
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portfleet-stack-'));
  chmodSync(dataDir, 0o755); // embedded Postgres runs as the `postgres` user when we are root
  const adminPassword = randomBytes(12).toString('base64url');
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const grpcAddress = `127.0.0.1:${grpcPort}`;

  const database = options.sharedDatabase ? await TestDatabase.start(dataDir) : null;

  const newControllerOn = (name: string, httpPort: number, grpcPort: number) => new Service(name, process.execPath, [join(REPO, 'controller/dist/main.js')], {
    cwd: REPO,
    env: {
      // As `npm start` runs it (docs/controller.md "Memory").
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      ...(database && { DATABASE_URL: database.url }),
      PORTFLEET_HTTP_PORT: String(httpPort),
      PORTFLEET_GRPC_PORT: String(grpcPort),
      PORTFLEET_DATA_DIR: join(dataDir, 'controller'),
      PORTFLEET_ADMIN_PASSWORD: adminPassword,
      PORTFLEET_PUBLIC_GRPC_URL: grpcAddress,
      ...(options.tls && { PORTFLEET_GRPC_INSECURE: '0' }),
      ...options.controllerEnv,
    },
  });
  const newController = () => newControllerOn('controller', httpPort, grpcPort);
  const controller = newController();
  const services: Service[] = [controller];
  const stop = async () => {
    for (const service of services.reverse()) await service.stop();
    await database?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await controller.waitFor(/PORTFLEET_CONTROLLER_READY/, 120_000);
    let consoleUrl: string | null = null;
    if (options.console) {
      const consolePort = await freePort();
      const next = new Service(
        'console',
        process.execPath,
        [join(REPO, 'node_modules/next/dist/bin/next'), 'start', '-p', String(consolePort), '-H', '127.0.0.1'],
        { cwd: join(REPO, 'console'), env: { PORTFLEET_CONTROLLER_URL: httpUrl } },
      );
      services.push(next);
      await next.waitFor(/Ready|started server|Local:/i, 60_000);
      consoleUrl = `http://127.0.0.1:${consolePort}`;
    }

    const login = () => ApiSession.login(httpUrl, 'admin', adminPassword);
    // What an operator copies from the console: the SHA-256 of the controller's CA certificate.
    const caFingerprint = () =>
      new X509Certificate(readFileSync(join(dataDir, 'controller', 'tls', 'ca.pem'))).fingerprint256.replace(/:/g, '').toLowerCase();
    let admin: ApiSession | undefined;

    const newToken = async (): Promise<string> => {
      admin ??= await login();
      const token = await admin.post('/api/enrollment-tokens', {});
      if (token.status !== 201) throw new Error(`enrollment token: ${token.status} ${JSON.stringify(token.body)}`);
      return token.body.token;
    };
    const startAgent = async ({ name = `agent-${services.length}`, reportIntervalMs = 200, token = '', controllers = [grpcAddress] } = {}) => {
      const enrollToken = token || (await newToken());
      const stateDir = join(dataDir, name);
      const tap = join(dataDir, `${name}.tap`);
      const cli = join(REPO, 'agent/bin/portfleet-agent.js');
      const enroll = new Service(`${name}:enroll`, process.execPath, [
        cli, 'enroll', '--controller', controllers.join(','), '--token', enrollToken, '--state-dir', stateDir,
        ...(options.tls ? ['--ca-sha256', caFingerprint()] : []),
      ], { cwd: REPO, env: { PORTFLEET_AGENT_HOSTNAME: name } });
      const code = await enroll.exit(30_000);
      if (code !== 0) {
        throw new Error(`${name}: enrollment failed (${code}):\n${enroll.tail()}`);
      }
      const handle: AgentHandle = {
        id: '',
        name,
        stateDir,
        tap,
        service: undefined as unknown as Service,
        restart: async ({ waitConnected = true } = {}) => {
          handle.service = new Service(name, process.execPath, [
            cli, 'run', '--state-dir', stateDir, '--dataplane', 'memory', '--tap', tap,
            '--report-interval-ms', String(reportIntervalMs),
          ], { cwd: REPO, env: { PORTFLEET_AGENT_HOSTNAME: name } });
          services.push(handle.service);
          if (!waitConnected) {
            await handle.service.waitFor(/PORTFLEET_AGENT_TAP /, 30_000);
            return;
          }
          const m = await handle.service.waitFor(/PORTFLEET_AGENT_CONNECTED agent=(\S+)/, 30_000);
          handle.id = m[1];
        },
        stop: async () => {
          await handle.service.stop();
        },
      };
      await handle.restart();
      return handle;
    };

    let replicas = 0;
    const startReplica = async (): Promise<Replica> => {
      if (!database) throw new Error('startReplica needs startStack({ sharedDatabase: true })');
      const name = `replica-${++replicas}`;
      const [replicaHttp, replicaGrpc] = [await freePort(), await freePort()];
      const replica: Replica = {
        httpUrl: `http://127.0.0.1:${replicaHttp}`,
        grpcAddress: `127.0.0.1:${replicaGrpc}`,
        service: undefined as unknown as Service,
        restart: async () => {
          await replica.service?.stop();
          replica.service = newControllerOn(name, replicaHttp, replicaGrpc);
          services.push(replica.service);
          await replica.service.waitFor(/PORTFLEET_CONTROLLER_READY/, 120_000);
        },
        stop: () => replica.service.stop().then(() => undefined),
      };
      await replica.restart();
      return replica;
    };

    const stack: Stack = {
      httpUrl, grpcAddress, consoleUrl, adminPassword, dataDir, controller, database, login, startAgent, startReplica, stop,
      restartController: async () => {
        await stack.controller.stop();
        stack.controller = newController();
        services.push(stack.controller);
        await stack.controller.waitFor(/PORTFLEET_CONTROLLER_READY/, 120_000);
        admin = undefined; // sessions may not survive a restart
      },
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
