/**
 * Input fuzzing against the real controller (issue 7): property-based (fast-check) HTTP bodies and
 * query parameters and gRPC request messages (AutomationService and AgentService). Whatever comes
 * in: never a 5xx / INTERNAL / UNKNOWN, and every validation rejection names the field (HTTP
 * `error.field` or `details[].field`, gRPC `field` trailer). Size limits: 413 over HTTP,
 * RESOURCE_EXHAUSTED over gRPC. And the credential edge cases: a reused or expired enrollment
 * token and a license key signed by someone else are refused. (A tampered capability snapshot is
 * refused by the agent: agent/test suites, commit cd5de73.) Needs `npm run build` first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { generateLicenseKeyPair, issueLicenseKey, newLicenseSerial } from '@portfleet/proto';
import { AgentServiceService } from '@portfleet/proto/gen/agent';
import { AutomationServiceService } from '@portfleet/proto/gen/automation';
import { newKeyAndCsr } from '../../agent/src/control/tls/agent-identity';
import type { ApiSession } from '../support/api';
import { startStack, type Stack } from '../support/stack';

const RUNS = Number(process.env.PORTFLEET_FUZZ_RUNS ?? 40);
const PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

let stack: Stack;
let admin: ApiSession;
let caPem: string;
let writeToken: string;
let ruleSetId: string;
let expiringEnrollmentToken: { token: string; validUntil: number };

beforeAll(async () => {
  stack = await startStack({ controllerEnv: { PORTFLEET_GRPC_INSECURE: '0' } });
  caPem = readFileSync(join(stack.dataDir, 'controller', 'tls', 'ca.pem'), 'utf8');
  admin = await stack.login();
  const token = await admin.post('/api/api-tokens', { name: 'fuzz', scopes: ['read', 'write'] });
  writeToken = token.body.token;
  const ruleSet = await admin.post('/api/rule-sets', { name: 'fuzz' });
  expect(ruleSet.status).toBe(201);
  ruleSetId = ruleSet.body.id;
  const expiring = await admin.post('/api/enrollment-tokens', { ttlSeconds: 60 });
  expect(expiring.status).toBe(201);
  expiringEnrollmentToken = { token: expiring.body.token, validUntil: Date.now() + 61_000 };
});
afterAll(async () => {
  await stack?.stop();
});

async function send(method: string, path: string, body?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(stack.httpUrl + path, {
    method,
    headers: { authorization: `Bearer ${writeToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** No 5xx; a 400 names the field that is wrong. Returns a description of the problem, or null. */
function judge(label: string, res: { status: number; body: any }, sentObject = true): string | null {
  if (res.status >= 500) return `${label}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
  if (res.status === 400) {
    const e = res.body?.error;
    const named = (typeof e?.field === 'string' && e.field !== '') || (Array.isArray(e?.details) && e.details.some((d: { field?: string }) => typeof d.field === 'string' && d.field !== ''));
    // A body that is not a JSON object at all has no field to name; its message must say so.
    if (!named && (sentObject || !/body|json|object/i.test(String(e?.message ?? '')))) return `${label}: 400 without a field: ${JSON.stringify(res.body).slice(0, 200)}`;
  }
  return null;
}

const port = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.constant('80'), fc.double(), fc.constant(null));
const address = fc.oneof(fc.constantFrom('10.0.0.1', 'fd00::1', 'example.com', '999.1.1.1', '', 'a'.repeat(300), '::ffff:1.2.3.4'), fc.string());
const selector = fc.record(
  {
    direction: fc.oneof(fc.constantFrom('inbound', 'outbound', 'both'), fc.anything()),
    protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'icmp'), fc.anything()),
    localPort: port,
    remotePort: port,
    localAddress: address,
    remoteAddress: address,
    localMac: fc.oneof(fc.constantFrom('aa:bb:cc:dd:ee:ff', 'zz:zz', ''), fc.string()),
    adapter: fc.string(),
  },
  { requiredKeys: [] },
);
const rule = fc.record(
  {
    enabled: fc.oneof(fc.boolean(), fc.anything()),
    activityMonitoring: fc.oneof(fc.boolean(), fc.anything()),
    name: fc.oneof(fc.string(), fc.anything()),
    selector: fc.oneof(selector, fc.anything()),
    forwardAs: fc.oneof(fc.record({ localPort: port, remoteAddress: address, reflection: fc.oneof(fc.constantFrom('none', 'mirror', 'route', 'x'), fc.anything()), clone: fc.anything() }, { requiredKeys: [] }), fc.anything()),
  },
  { requiredKeys: [] },
);
/** Bodies that are JSON but of any shape, and nearly-right ones: the fields the route reads, with hostile values. */
const body = (fields: fc.Arbitrary<Record<string, unknown>>) => fc.oneof(fields, fc.jsonValue(), fc.dictionary(fc.string(), fc.anything()));

describe('HTTP fuzz', () => {
  const routes: [string, string, fc.Arbitrary<unknown>][] = [
    ['POST', '/api/rule-sets/:rs/rules', body(fc.record({ rule, position: fc.anything() }, { requiredKeys: [] }))],
    ['PUT', '/api/rule-sets/:rs/rules/' + PLACEHOLDER, body(fc.record({ rule }, { requiredKeys: [] }))],
    ['PUT', '/api/rule-sets/:rs/order', body(fc.record({ ruleIds: fc.oneof(fc.array(fc.string()), fc.anything()) }, { requiredKeys: [] }))],
    ['PUT', '/api/rule-sets/:rs/settings', body(fc.record({ settings: fc.oneof(fc.record({ applyDelayMs: fc.anything(), tcpTimeoutS: fc.anything(), udpTimeoutS: fc.anything() }, { requiredKeys: [] }), fc.anything()) }, { requiredKeys: [] }))],
    ['POST', '/api/rule-sets/:rs/import', body(fc.record({ content: fc.oneof(fc.string(), fc.anything()) }, { requiredKeys: [] }))],
    ['POST', '/api/rule-sets', body(fc.record({ name: fc.anything() }, { requiredKeys: [] }))],
    ['POST', '/api/users', body(fc.record({ username: fc.anything(), password: fc.anything(), role: fc.oneof(fc.constantFrom('viewer', 'root'), fc.anything()) }, { requiredKeys: [] }))],
    ['POST', '/api/api-tokens', body(fc.record({ name: fc.anything(), scopes: fc.anything(), ttlSeconds: fc.anything() }, { requiredKeys: [] }))],
    ['POST', '/api/enrollment-tokens', body(fc.record({ ttlSeconds: fc.anything() }, { requiredKeys: [] }))],
    ['POST', '/api/pushes/dry-run', body(fc.record({ ruleSetId: fc.anything(), version: fc.anything(), agentIds: fc.anything(), groups: fc.anything(), labels: fc.anything(), rollout: fc.anything() }, { requiredKeys: [] }))],
    ['POST', '/api/license', body(fc.record({ key: fc.oneof(fc.string(), fc.constant('PF1-'), fc.anything()) }, { requiredKeys: [] }))],
    ['PATCH', '/api/agents/' + PLACEHOLDER, body(fc.record({ name: fc.anything(), groups: fc.anything(), labels: fc.anything() }, { requiredKeys: [] }))],
  ];

  it.each(routes)('%s %s: no 5xx, every 400 names its field', async (method, template, arb) => {
    const path = template.replace(':rs', ruleSetId);
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(arb, async (value) => {
        const sentObject = typeof value === 'object' && value !== null && !Array.isArray(value);
        const problem = judge(`${method} ${path} ${JSON.stringify(value)?.slice(0, 200)}`, await send(method, path, JSON.stringify(value) ?? 'null'), sentObject);
        if (problem) problems.push(problem);
      }),
      { numRuns: RUNS, seed: 7 },
    );
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('query parameters and path ids: no 5xx, every 400 names its field', async () => {
    const lists = ['/api/agents', '/api/pushes', '/api/audit', '/api/activity', '/api/activity/series', `/api/rule-sets/${ruleSetId}/versions`, `/api/rule-sets/${ruleSetId}/diff`, `/api/rule-sets/${ruleSetId}/export`];
    const keys = ['limit', 'cursor', 'online', 'edition', 'from', 'to', 'version', 'scope', 'bucketSeconds', 'agentId', 'ruleId', 'search', 'ruleSetId'];
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...lists), fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.string(), fc.integer().map(String), fc.constantFrom('-1', '1e309', 'NaN', 'true', '0', '99999999999999999999'))), async (path, query) => {
        const url = `${path}?${new URLSearchParams(query).toString()}`;
        const problem = judge(`GET ${url}`, await send('GET', url));
        if (problem) problems.push(problem);
      }),
      { numRuns: RUNS * 4, seed: 11 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/agents/', '/api/pushes/', '/api/rule-sets/', '/api/users/'), fc.string({ minLength: 1 }), async (prefix, id) => {
        const url = prefix + encodeURIComponent(id);
        const problem = judge(`GET ${url}`, await send('GET', url));
        if (problem) problems.push(problem);
      }),
      { numRuns: RUNS, seed: 13 },
    );
    expect(problems.slice(0, 5)).toEqual([]);
  });

  it('rejects a body over 1 MiB with 413, and a body that is not JSON with 400', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) });
    expect((await send('POST', '/api/rule-sets', big)).status).toBe(413);
    expect((await send('POST', '/api/rule-sets', '{"name":')).status).toBe(400);
  });
});

describe('gRPC fuzz', () => {
  const creds = () => grpc.credentials.createSsl(Buffer.from(caPem));
  const bad = [grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.UNAVAILABLE, grpc.status.DATA_LOSS];

  function unary(def: grpc.MethodDefinition<unknown, unknown>, request: unknown, token?: string): Promise<{ code: grpc.status; details: string; field?: string }> {
    const client = new grpc.Client(stack.grpcAddress, creds(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    return new Promise((resolve) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata, { deadline: Date.now() + 10_000 }, (err) => {
        client.close();
        resolve(err ? { code: err.code, details: err.details, field: err.metadata?.get('field')[0] as string | undefined } : { code: grpc.status.OK, details: '' });
      });
    });
  }

  /** Random bytes that decode as the method's request message: real messages with arbitrary field values. */
  function messages(def: grpc.MethodDefinition<unknown, unknown>): fc.Arbitrary<unknown> {
    return fc.uint8Array({ maxLength: 200 }).map((bytes) => {
      try {
        return def.requestDeserialize(Buffer.from(bytes));
      } catch {
        return def.requestDeserialize(Buffer.alloc(0));
      }
    });
  }

  const unaryMethods = (service: Record<string, grpc.MethodDefinition<unknown, unknown>>) =>
    Object.entries(service).filter(([, d]) => !d.requestStream && !d.responseStream);

  it('AutomationService and AgentService.Enroll: no INTERNAL, every INVALID_ARGUMENT names its field', async () => {
    const methods = [...unaryMethods(AutomationServiceService as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>), ...unaryMethods(AgentServiceService as unknown as Record<string, grpc.MethodDefinition<unknown, unknown>>)];
    expect(methods.length).toBeGreaterThan(25);
    const problems: string[] = [];
    for (const [name, def] of methods) {
      await fc.assert(
        fc.asyncProperty(messages(def), async (request) => {
          const res = await unary(def, request, writeToken);
          if (bad.includes(res.code)) problems.push(`${name}: ${grpc.status[res.code]} ${res.details}`);
          if (res.code === grpc.status.INVALID_ARGUMENT && !res.field) problems.push(`${name}: INVALID_ARGUMENT without a field trailer: ${res.details}`);
        }),
        { numRuns: Math.max(5, RUNS / 4), seed: 17 },
      );
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  it('a request over the 4 MiB message limit gets RESOURCE_EXHAUSTED', async () => {
    const def = AutomationServiceService.createRuleSet as unknown as grpc.MethodDefinition<unknown, unknown>;
    const res = await unary(def, { name: 'x'.repeat(5 * 1024 * 1024) }, writeToken);
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});

describe('credential edge cases', () => {
  const enroll = (token: string) => {
    const def = AgentServiceService.enroll as unknown as grpc.MethodDefinition<unknown, unknown>;
    const client = new grpc.Client(stack.grpcAddress, grpc.credentials.createSsl(Buffer.from(caPem)));
    // A throwaway key's CSR is not needed to see the token refused: the token is checked first or the CSR is refused without using it.
    return new Promise<{ code: grpc.status; field?: string; errorCode?: string }>((resolve) =>
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { token, hostname: 'h', platform: 'linux', version: '0', csrPem: CSR }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
        client.close();
        resolve(err ? { code: err.code, field: err.metadata?.get('field')[0] as string, errorCode: err.metadata?.get('error-code')[0] as string } : { code: grpc.status.OK });
      }),
    );
  };

  it('an enrollment token enrolls once; its reuse is refused naming the token', async () => {
    const created = await admin.post('/api/enrollment-tokens', {});
    expect(await enroll(created.body.token)).toEqual({ code: grpc.status.OK });
    expect(await enroll(created.body.token)).toEqual({ code: grpc.status.PERMISSION_DENIED, field: 'token', errorCode: 'ENROLLMENT_TOKEN_USED' });
    expect(await enroll('pfe_neverissuedneverissued')).toEqual({ code: grpc.status.UNAUTHENTICATED, field: 'token', errorCode: 'ENROLLMENT_TOKEN_UNKNOWN' });
  });

  it('a license key signed with another key is refused (INVALID_SIGNATURE, field licenseKey)', async () => {
    const forger = generateLicenseKeyPair();
    const key = issueLicenseKey({ serial: newLicenseSerial(), edition: 'ultimate', seats: 1000, issuedTo: 'Mallory', issuedAtMs: Date.now(), expiresAtMs: null }, forger.privateKeyPem);
    const res = await admin.post('/api/license', { key });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_SIGNATURE', field: 'licenseKey' });
    expect((await admin.get('/api/license')).body.status).toBe('trial');
  });

  it('an expired enrollment token is refused naming the token', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, expiringEnrollmentToken.validUntil - Date.now())));
    expect(await enroll(expiringEnrollmentToken.token)).toEqual({ code: grpc.status.PERMISSION_DENIED, field: 'token', errorCode: 'ENROLLMENT_TOKEN_EXPIRED' });
  }, 120_000);
});

/** A valid CSR (ECDSA P-256) made once with openssl-equivalent tooling: the agent's own module. */
let CSR = '';
beforeAll(async () => {
  CSR = (await newKeyAndCsr('fuzz')).csrPem;
});
