import type { ServiceError } from '@grpc/grpc-js';
import { EDITIONS, generateLicenseKeyPair, verifyCapabilities, type Edition } from '@portfleet/proto';
import { Edition as WireEdition } from '@portfleet/proto/gen/rules';
import type { AutomationServiceClient } from '@portfleet/proto/gen/automation';
import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import type { Client } from 'pg';
import { closeControllerSuite, openControllerSuite } from './support/controller-suite';
import { bearerMetadata, call, status } from './support/grpc-clients';
import { answer, simAgent, type SimAgent } from './support/sim-agent';
import { HttpClient, testLicenseKey, type TestController } from './support/test-controller';

jest.setTimeout(180_000);

let controller: TestController;
let admin: HttpClient;
let agents: AgentServiceClient;
let automation: AutomationServiceClient;
let db: Client;
let md: ReturnType<typeof bearerMetadata>;
const live: SimAgent[] = [];

beforeAll(async () => void ({ controller, admin, agents, automation, db, md } = await openControllerSuite('licensing')));
afterAll(() => closeControllerSuite({ controller, agents, automation, db }, live));

/** A rule without any optional feature (no description either: Basic has none). */
const plain = (port: number, extra: { selector?: object; forwardAs?: object; description?: string } = {}) => ({
  enabled: true,
  activityMonitoring: true,
  ...(extra.description !== undefined && { description: extra.description }),
  selector: { direction: 'inbound', protocol: 'tcp', localPort: port, ...extra.selector },
  forwardAs: { localPort: port + 1000, ...extra.forwardAs },
});

/** One rule per gated feature of the SPEC §3 table, with the field checkEdition names. */
const FEATURE_RULES: { feature: keyof typeof EDITIONS.trial; field: string; rule: object }[] = [
  { feature: 'descriptions', field: 'description', rule: plain(100, { description: 'web' }) },
  { feature: 'ipAddresses', field: 'selector.remoteAddress', rule: plain(101, { selector: { remoteAddress: '192.0.2.7' } }) },
  { feature: 'macAddresses', field: 'selector.localMac', rule: plain(102, { selector: { localMac: '02:00:00:00:00:02' } }) },
  { feature: 'adapters', field: 'selector.adapter', rule: plain(103, { selector: { adapter: 'eth0' } }) },
  { feature: 'cloneAndReflection', field: 'forwardAs.clone', rule: plain(104, { forwardAs: { clone: true } }) },
  { feature: 'cloneAndReflection', field: 'forwardAs.reflection', rule: plain(105, { forwardAs: { reflection: 'mirror' } }) },
];

async function activate(edition: Edition, seats = 100) {
  const res = await admin.post('/api/license', { key: testLicenseKey(edition, seats) });
  expect([res.status, res.body.edition]).toEqual([200, edition]);
  return res.body;
}

const newSet = async (name: string) => (await admin.post('/api/rule-sets', { name })).body as { id: string };
const rulesFile = (count: number) =>
  JSON.stringify({ format: 'portfleet-rules', version: 1, settings: { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 }, rules: Array.from({ length: count }, (_, i) => plain(2000 + i)) });

describe('license status', () => {
  it('runs a 30-day trial from the first start, with watermark and the whole edition table', async () => {
    const res = await admin.get('/api/license');
    expect(res.body).toMatchObject({ status: 'trial', edition: 'trial', seats: null, trialDaysLeft: 30, watermark: true, serial: null, limits: EDITIONS.trial, editions: EDITIONS });
    expect(Date.parse(res.body.trialEndsAt) - Date.parse(res.body.trialStartedAt)).toBe(30 * 86_400_000);
    const { rows } = await db.query("SELECT value FROM controller_state WHERE key = 'trial_started_at'");
    expect(new Date(rows[0].value).toISOString()).toBe(res.body.trialStartedAt);
    const wire = await call(automation, 'getLicense', {}, md);
    expect(wire).toMatchObject({ status: 'trial', edition: WireEdition.EDITION_TRIAL, trialDaysLeft: 30, watermark: true, maxRules: 3 });
  });

  it('rejects forged, altered, malformed and expired keys over HTTP and gRPC, changing nothing', async () => {
    const forged = testLicenseKey('ultimate', 10, { privateKeyPem: generateLicenseKeyPair().privateKeyPem });
    const genuine = testLicenseKey('basic', 10);
    const [payload, signature] = genuine.slice(4).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const altered = `PF1-${Buffer.from(JSON.stringify({ ...claims, edition: 'ultimate' })).toString('base64url')}.${signature}`;
    const expired = testLicenseKey('pro', 10, { expiresAtMs: Date.now() - 1000 });
    const cases: [string, string][] = [
      [forged, 'INVALID_SIGNATURE'],
      [altered, 'INVALID_SIGNATURE'],
      ['PF1-not-a-key', 'INVALID_LICENSE_FORMAT'],
      [expired, 'LICENSE_EXPIRED'],
    ];
    for (const [key, code] of cases) {
      const res = await admin.post('/api/license', { key });
      expect([res.status, res.body.error.code, res.body.error.field?.startsWith('licenseKey')]).toEqual([400, code, true]);
      const err = (await call(automation, 'activateLicense', { key }, md).catch((e) => e)) as ServiceError;
      expect([err.code, err.metadata.get('error-code')[0]]).toEqual([status.INVALID_ARGUMENT, code]);
    }
    expect((await admin.get('/api/license')).body.status).toBe('trial');
    expect(Number((await db.query('SELECT count(*) FROM licenses')).rows[0].count)).toBe(0);
  });
});

/**
 * SPEC §3 cell by cell: for each edition, every gated feature on edit (fleet edition) and on push
 * (the target's seat), the rule limit, import/export and the watermark.
 */
describe.each(['trial', 'basic', 'pro', 'ultimate'] as Edition[])('edition %s', (edition) => {
  const policy = EDITIONS[edition];
  let agent: SimAgent;
  /** Versions holding one feature each, made under Ultimate before switching to `edition`. */
  const featureVersions: { feature: string; field: string; setId: string; version: number }[] = [];
  let bigSet: { id: string; version: number } | undefined;

  beforeAll(async () => {
    agent = await simAgent(admin, agents, `host-${edition}`);
    live.push(agent);
    if (edition !== 'trial') await activate('ultimate');
    for (const f of FEATURE_RULES) {
      const set = await newSet(`${edition}-push-${f.field}`);
      const res = await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: f.rule });
      expect(res.status).toBe(201);
      featureVersions.push({ feature: f.feature, field: f.field, setId: set.id, version: res.body.version });
    }
    // Ultimate's 50 is the top: no edition can store a version that exceeds it on push.
    if (edition !== 'trial' && edition !== 'ultimate') {
      const set = await newSet(`${edition}-push-limit`);
      const res = await admin.post(`/api/rule-sets/${set.id}/import`, { content: rulesFile(policy.maxRules + 1) });
      expect(res.status).toBe(201);
      bigSet = { id: set.id, version: res.body.version };
    }
    if (edition !== 'trial') await activate(edition);
  });

  it('reports the edition, its limits and the watermark', async () => {
    const res = (await admin.get('/api/license')).body;
    expect([res.edition, res.watermark, res.limits.maxRules]).toEqual([edition, policy.watermark, policy.maxRules]);
    expect((await admin.get(`/api/agents/${agent.agentId}`)).body.edition).toBe(edition);
  });

  it.each(FEATURE_RULES.map((f) => [f.field, f] as const))('edit with %s', async (_, f) => {
    const set = await newSet(`${edition}-edit-${f.field}`);
    const res = await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: f.rule });
    if (policy[f.feature]) {
      expect(res.status).toBe(201);
    } else {
      expect([res.status, res.body.error.code, res.body.error.field]).toEqual([422, 'FEATURE_NOT_IN_EDITION', f.field]);
      expect(res.body.error.details[0]).toMatchObject({ ruleIndex: 0, field: f.field });
      expect((await admin.get(`/api/rule-sets/${set.id}`)).body.version).toBe(1);
    }
  });

  it.each(FEATURE_RULES.map((f) => [f.field, f] as const))('push with %s', async (_, f) => {
    const v = featureVersions.find((x) => x.field === f.field)!;
    const res = await admin.post('/api/pushes', { ruleSetId: v.setId, version: v.version, agentIds: [agent.agentId] });
    if (policy[f.feature]) {
      expect(res.status).toBe(201);
      const apply = await answer(agent, true);
      const caps = verifyCapabilities(apply.capabilities!, agent.capabilityPublicKeyPem);
      expect(caps.ok && [caps.value.agentId, caps.value.edition, caps.value.maxRules, caps.value.watermark]).toEqual([agent.agentId, edition, policy.maxRules, policy.watermark]);
    } else {
      expect([res.status, res.body.error.code, res.body.error.field]).toEqual([422, 'FEATURE_NOT_IN_EDITION', f.field]);
      expect(res.body.error.message).toContain(`agent "host-${edition}"`);
      expect(res.body.error.details[0].ruleIndex).toBe(0);
    }
  });

  it(`allows ${policy.maxRules} rules per host on edit and refuses one more, on edit and on push`, async () => {
    const set = await newSet(`${edition}-limit`);
    for (let i = 0; i < policy.maxRules; i++) expect((await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: plain(3000 + i) })).status).toBe(201);
    const over = await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: plain(3999) });
    expect([over.status, over.body.error.code, over.body.error.details[0].ruleIndex]).toEqual([422, 'RULE_LIMIT_EXCEEDED', policy.maxRules]);
    if (bigSet) {
      const push = await admin.post('/api/pushes', { ruleSetId: bigSet.id, version: bigSet.version, agentIds: [agent.agentId] });
      expect([push.status, push.body.error.code]).toEqual([422, 'RULE_LIMIT_EXCEEDED']);
    }
  });

  it(policy.importExport ? 'exports and imports rule files' : 'refuses export and import', async () => {
    const set = await newSet(`${edition}-files`);
    const exported = await admin.get(`/api/rule-sets/${set.id}/export`);
    const imported = await admin.post(`/api/rule-sets/${set.id}/import`, { content: rulesFile(1) });
    if (policy.importExport) {
      expect([exported.status, imported.status]).toEqual([200, 201]);
      expect(exported.headers!.get('content-disposition')).toContain(`${edition}-files-v1.portfleet-rules.json`);
    } else {
      expect([exported.status, exported.body.error.code, exported.body.error.field]).toEqual([422, 'FEATURE_NOT_IN_EDITION', 'importExport']);
      expect([imported.status, imported.body.error.code]).toEqual([422, 'FEATURE_NOT_IN_EDITION']);
      const wire = (await call(automation, 'exportRules', { ruleSetId: set.id, version: 0 }, md).catch((e) => e)) as ServiceError;
      expect(wire.code).toBe(status.FAILED_PRECONDITION);
    }
  });
});

describe('seats', () => {
  it('gives seats to the oldest agents; pushes to an agent without one fail; retiring frees the seat', async () => {
    const before = (await admin.get('/api/agents?limit=500')).body.agents.length;
    const fresh = await simAgent(admin, agents, 'late-host');
    live.push(fresh);
    await activate('pro', before);
    expect((await admin.get(`/api/agents/${fresh.agentId}`)).body.edition).toBeNull();
    expect((await admin.get('/api/license')).body).toMatchObject({ seats: before, seatsUsed: before });
    const unlicensed = (await admin.get('/api/agents?edition=unlicensed')).body.agents.map((a: { id: string }) => a.id);
    expect(unlicensed).toEqual([fresh.agentId]);

    const set = await newSet('seats');
    const push = await admin.post('/api/pushes', { ruleSetId: set.id, agentIds: [fresh.agentId] });
    expect([push.status, push.body.error.code, push.body.error.field]).toEqual([422, 'AGENT_UNLICENSED', 'agentIds']);
    expect(push.body.error.message).toContain('late-host');
    const wire = (await call(automation, 'createPush', { ruleSetId: set.id, version: 0, agentIds: [fresh.agentId], groups: [], labels: [], rollout: undefined }, md).catch((e) => e)) as ServiceError;
    expect([wire.code, wire.metadata.get('error-code')[0]]).toEqual([status.FAILED_PRECONDITION, 'AGENT_UNLICENSED']);

    const oldest = (await admin.get('/api/agents?limit=1')).body.agents[0];
    expect((await admin.post(`/api/agents/${oldest.id}/retire`)).status).toBe(200);
    expect((await admin.get(`/api/agents/${fresh.agentId}`)).body.edition).toBe('pro');
  });

  it('an enrolling host takes a seat while one is left; hosts enrolling at once get them in enrollment order', async () => {
    const used = (await admin.get('/api/license')).body.seatsUsed as number;
    await activate('pro', used + 2);
    const hosts = await Promise.all(['race-a', 'race-b', 'race-c', 'race-d'].map((name) => simAgent(admin, agents, name)));
    live.push(...hosts);
    const mine = new Set(hosts.map((h) => h.agentId));
    const listed = (await admin.get('/api/agents?limit=500')).body.agents.filter((a: { id: string }) => mine.has(a.id));
    expect(listed.map((a: { edition: string | null }) => a.edition)).toEqual(['pro', 'pro', null, null]);
    expect((await admin.get('/api/license')).body).toMatchObject({ seats: used + 2, seatsUsed: used + 2 });
  });

  it('when the license has expired, edits and pushes need a new key and no agent holds a seat', async () => {
    // Expiry is a matter of time, not of a write: the controller keeps the license it read and
    // still notices the moment it ends.
    const expiresAtMs = Date.now() + 2_000;
    const res = await admin.post('/api/license', { key: testLicenseKey('pro', 100, { expiresAtMs }) });
    expect([res.status, res.body.status]).toEqual([200, 'licensed']);
    await new Promise((resolve) => setTimeout(resolve, expiresAtMs - Date.now() + 50));
    const license = (await admin.get('/api/license')).body;
    expect([license.status, license.edition, license.watermark]).toEqual(['expired', null, true]);
    const set = await newSet('expired');
    const edit = await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: plain(80) });
    expect([edit.status, edit.body.error.code]).toEqual([422, 'LICENSE_REQUIRED']);
    expect((await admin.get('/api/agents?edition=unlicensed')).body.agents.length).toBeGreaterThan(1);
    await activate('ultimate');
    expect((await admin.post(`/api/rule-sets/${set.id}/rules`, { rule: plain(80) })).status).toBe(201);
  });
});
