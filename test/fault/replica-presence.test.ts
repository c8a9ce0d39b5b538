/**
 * Per-agent state across replicas: whichever replica an operator asks, an agent connected to
 * another replica is online (listing, `online` filter, detail), MAC commands reach it through its
 * replica, and a replica killed outright stops showing its agents online.
 */
import type { Adapter, AgentServiceClient, Hello } from '@portfleet/proto/gen/agent';
import type { ApiSession } from '../support/api';
import { startStack, type Replica, type Stack } from '../support/stack';
import type { Fleet } from '../../load-tests/fleet-sim';
import { AgentConnection, agentClient, enroll } from '../../controller/test/support/grpc-clients';
import { until } from '../../controller/test/support/sim-agent';
import { seededFleet } from './fault-fleet';

jest.setTimeout(120_000);

const AGENTS = 20;
// The replica heartbeat is 5 s and a replica unseen for 15 s is gone (controller/src/agents/replica-presence.ts).
const REPLICA_GONE_MS = 25_000;

/** A bare agent's Hello (no data plane described: the controller keeps what it stored before). */
const hello = (hostname: string, adapters: Adapter[] = []): Hello => ({
  hostname,
  platform: 'linux',
  version: '0.1.0',
  adapters,
  dataplane: undefined,
  appliedRuleSetId: '',
  appliedVersion: 0,
  appliedContentHash: '',
});

describe('agent presence across replicas', () => {
  let stack: Stack;
  let b: Replica;
  let admin: ApiSession;
  let fleet: Fleet | undefined;
  let clientB: AgentServiceClient | undefined;
  let direct: { agentId: string; conn: AgentConnection } | undefined;

  beforeAll(async () => {
    stack = await startStack({ sharedDatabase: true });
    b = await stack.startReplica();
    admin = await stack.login();
  });
  afterAll(async () => {
    direct?.conn.close();
    clientB?.close();
    await fleet?.stop();
    await stack?.stop();
  });

  it('shows agents connected to replica B as online on replica A', async () => {
    fleet = await seededFleet(stack, admin, { count: AGENTS, hostnamePrefix: 'presence', targets: [stack.grpcAddress, b.grpcAddress], agentsPerChannel: 5 });
    fleet.start();
    await fleet.waitConnected(60_000);
    const onB = fleet.agents.filter((a) => a.targetIndex === 1).map((a) => a.identity.agentId);
    expect(onB).toHaveLength(AGENTS / 2);

    // The Welcome (what `waitConnected` waits for) leaves before the Hello's batched write that makes the agent online.
    const listAll = async () => (await admin.get('/api/agents?limit=100')).body.agents as Array<{ id: string; online: boolean }>;
    const listed = await until(listAll, (agents) => agents.filter((a) => onB.includes(a.id)).every((a) => a.online), 5_000);
    expect(listed.filter((a) => onB.includes(a.id)).map((a) => a.online)).toEqual(onB.map(() => true));
    const onlineOnly = (await admin.get('/api/agents?online=true&limit=100')).body.agents as Array<{ id: string }>;
    expect(onlineOnly.map((a) => a.id).sort()).toEqual(fleet.identities.map((i) => i.agentId).sort());
    expect((await admin.get(`/api/agents/${onB[0]}`)).body.online).toBe(true);
  });

  it('sends a MAC command asked on replica A through replica B to its agent, and returns the answer', async () => {
    clientB = agentClient(b.grpcAddress);
    const { agentId, credential } = await enroll(clientB, (await admin.post('/api/enrollment-tokens', {})).body.token, 'presence-direct');
    const conn = new AgentConnection(clientB, agentId, credential);
    direct = { agentId, conn };
    conn.send({ $case: 'hello', value: hello('presence-direct', [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: [] }]) });
    await conn.next('welcome');
    expect((await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === true, 5_000)).body.online).toBe(true);

    const asked = admin.post(`/api/agents/${agentId}/adapters/eth0/mac`, { action: 'set', mac: '02:aa:bb:cc:dd:01' });
    const cmd = await conn.next('adapterCommand');
    expect([cmd.adapter, cmd.action]).toEqual(['eth0', { $case: 'setMac', value: '02:aa:bb:cc:dd:01' }]);
    const adapters = [{ name: 'eth0', index: 2, macs: ['02:aa:bb:cc:dd:01'], addresses: [] }];
    conn.send({ $case: 'adapterResult', value: { commandId: cmd.commandId, ok: true, error: '', mac: '02:aa:bb:cc:dd:01', adapters } });
    const res = await asked;
    expect([res.status, res.body]).toEqual([200, { commandId: cmd.commandId, ok: true, error: null, mac: '02:aa:bb:cc:dd:01', adapters }]);
    expect((await admin.get(`/api/agents/${agentId}`)).body.adapters).toEqual(adapters);
  });

  it('answers AGENT_OFFLINE for an agent connected nowhere, on either replica', async () => {
    const token = (await admin.post('/api/enrollment-tokens', {})).body.token;
    const { agentId } = await enroll(clientB!, token, 'presence-never');
    const res = await admin.post(`/api/agents/${agentId}/adapters/eth0/mac`, { action: 'restore' });
    expect([res.status, res.body.error.code, res.body.error.field]).toEqual([409, 'AGENT_OFFLINE', 'agentId']);
  });

  it('ends the stream of an agent retired on replica A while it is connected to replica B', async () => {
    const { agentId, credential } = await enroll(clientB!, (await admin.post('/api/enrollment-tokens', {})).body.token, 'presence-retired');
    const conn = new AgentConnection(clientB!, agentId, credential);
    try {
      conn.send({ $case: 'hello', value: hello('presence-retired') });
      await conn.next('welcome');
      await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === true, 5_000);
      expect((await admin.post(`/api/agents/${agentId}/retire`)).status).toBe(200);
      await until(async () => conn.ended || conn.error !== undefined, (gone) => gone, 5_000);
      expect(conn.ended || conn.error !== undefined).toBe(true);
      // And it cannot come back on B either.
      const again = new AgentConnection(clientB!, agentId, credential);
      again.send({ $case: 'hello', value: hello('presence-retired') });
      await expect(again.next('welcome')).rejects.toMatchObject({ details: expect.stringMatching(/retired|credential/i) });
    } finally {
      conn.close();
    }
  });

  it('stops showing the agents of a SIGKILLed replica online, with nobody clearing them', async () => {
    const { agentId } = direct!;
    await b.service.kill();
    const detail = await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === false, REPLICA_GONE_MS);
    expect(detail.body.online).toBe(false);
    const onlineOnly = (await admin.get('/api/agents?online=true&limit=100')).body.agents as Array<{ id: string }>;
    expect(onlineOnly.map((a) => a.id)).not.toContain(agentId);
    const mac = await admin.post(`/api/agents/${agentId}/adapters/eth0/mac`, { action: 'restore' });
    expect(mac.body.error.code).toBe('AGENT_OFFLINE');
  });
});
