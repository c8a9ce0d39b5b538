import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { generateLicenseKeyPair, issueLicenseKey, newLicenseSerial, type Edition } from '@portfleet/proto';
import { type Config, DEFAULT_AGENT_CERT_LIFETIME_S } from '../../src/config';
import { startController, type RunningController } from '../../src/controller';
import { quietLogger, reachableTempDir } from './test-postgres';

export const ADMIN_PASSWORD = 'test-admin-password';

/** The tests' own vendor key pair: test controllers trust its public half (never the product key). */
export const TEST_VENDOR_KEYS = generateLicenseKeyPair();

/** A serial key signed with the tests' vendor key. */
export function testLicenseKey(edition: Edition, seats = 100, extra: { issuedTo?: string; expiresAtMs?: number | null; privateKeyPem?: string } = {}): string {
  return issueLicenseKey(
    { serial: newLicenseSerial(), edition, seats, issuedTo: extra.issuedTo ?? 'Portfleet Tests', issuedAtMs: Date.now() - 60_000, expiresAtMs: extra.expiresAtMs ?? null },
    extra.privateKeyPem ?? TEST_VENDOR_KEYS.privateKeyPem,
  );
}

export interface TestController extends RunningController {
  dataDir: string;
  /** Stops everything and removes the data folder. */
  shutdown(): Promise<void>;
}

/** The server `PORTFLEET_TEST_DATABASE_URL` names: every suite then runs on an external PostgreSQL. */
const EXTERNAL_DATABASE_URL = process.env.PORTFLEET_TEST_DATABASE_URL;

/** A fresh database on the external server for one controller (dropped by shutdown). */
async function externalDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pf_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: EXTERNAL_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(EXTERNAL_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: EXTERNAL_DATABASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The real controller (embedded PostgreSQL in a temp folder, or a fresh database on
 * PORTFLEET_TEST_DATABASE_URL; HTTP and gRPC on free loopback ports).
 */
export async function startTestController(overrides: Partial<Config> = {}): Promise<TestController> {
  const external = EXTERNAL_DATABASE_URL && !overrides.databaseUrl ? await externalDatabase() : undefined;
  const tmp = reachableTempDir('pf-ctl-');
  const config: Config = {
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
    dataDir: path.join(tmp.dir, 'controller'),
    adminPassword: ADMIN_PASSWORD,
    publicGrpcUrl: 'controller.example:50051',
    logLevel: 'silent',
    agentCertificateLifetimeS: DEFAULT_AGENT_CERT_LIFETIME_S,
    licensePublicKeyPem: TEST_VENDOR_KEYS.publicKeyPem,
    ...(external && { databaseUrl: external.url }),
    ...overrides,
  };
  const running = await startController(config, quietLogger());
  return {
    ...running,
    dataDir: config.dataDir,
    shutdown: async () => {
      await running.stop();
      await external?.drop();
      tmp.remove();
    },
  };
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers?: Headers;
}

/** An HTTP client that keeps cookies like a browser and sends the CSRF header on changes. */
export class HttpClient {
  private cookies = new Map<string, string>();
  csrf?: string;
  sendCsrf = true;

  constructor(
    private readonly base: string,
    private readonly bearer?: string,
  ) {}

  static async login(base: string, username = 'admin', password = ADMIN_PASSWORD): Promise<HttpClient> {
    const client = new HttpClient(base);
    const res = await client.post('/api/auth/login', { username, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    client.csrf = res.body.csrfToken;
    return client;
  }

  get = (p: string) => this.request('GET', p);
  post = (p: string, body?: unknown) => this.request('POST', p, body);
  put = (p: string, body?: unknown) => this.request('PUT', p, body);
  delete = (p: string) => this.request('DELETE', p);
  patch = (p: string, body?: unknown) => this.request('PATCH', p, body);

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async request(method: string, p: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && this.sendCsrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const res = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, body: text && json ? JSON.parse(text) : text || undefined, headers: res.headers };
  }
}

/** A rule in the API's JSON shape. */
export function rule(localPort: number, forwardPort: number, extra: Record<string, unknown> = {}) {
  return {
    enabled: true,
    description: `port ${localPort} to ${forwardPort}`,
    activityMonitoring: true,
    selector: { direction: 'inbound', protocol: 'tcp', localPort },
    forwardAs: { localPort: forwardPort },
    ...extra,
  };
}

/** A rule every edition allows (no description, addresses, MACs, adapters, cloning). */
export function plainRule(localPort: number, forwardPort: number) {
  return { enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp', localPort }, forwardAs: { localPort: forwardPort } };
}
