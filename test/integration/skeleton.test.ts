import { PacketFlag, Verdict } from '../../agent/src/engine/batch';
import { TapClient } from '../../agent/src/divert/tap-client';
import { ipv4Packet, parseIpv4 } from '../../agent/test/support/packets';
import type { ApiSession } from '../support/api';
import { startStack, type AgentHandle, type Stack } from '../support/stack';

/** Polls `probe` until it returns a value (not undefined) or the time is up. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * The walking skeleton end to end on real parts: the built controller on its own embedded
 * PostgreSQL, a real agent process enrolled over gRPC, a rule created through the HTTP API, pushed,
 * applied by the agent, real packet bytes through the agent's engine, and the activity they caused
 * stored by the controller and visible through the API.
 */
describe('walking skeleton: controller + agent over gRPC', () => {
  let stack: Stack;
  let api: ApiSession;
  let agent: AgentHandle;
  let ruleSetId: string;

  beforeAll(async () => {
    stack = await startStack();
    api = await stack.login();
    agent = await stack.startAgent({ name: 'edge-1' });
    const sets = await api.get('/api/rule-sets');
    expect(sets.status).toBe(200);
    ruleSetId = sets.body.ruleSets.find((s: { name: string }) => s.name === 'default').id;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves health and lists the enrolled agent online with its inventory', async () => {
    const health = await fetch(`${stack.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    const agents = await eventually(async () => {
      const res = await api.get('/api/agents');
      const found = res.body.agents?.find((a: { id: string }) => a.id === agent.id);
      return found?.online ? found : undefined;
    }, 'agent online');
    expect(agents.hostname).toBe('edge-1');
    expect(agents.platform).toBe(process.platform);
    expect(Array.isArray(agents.adapters)).toBe(true);
  });

  it('rejects an invalid rule with the field path and stores nothing', async () => {
    const before = await api.get(`/api/rule-sets/${ruleSetId}`);
    const res = await api.post(`/api/rule-sets/${ruleSetId}/rules`, {
      rule: { selector: { direction: 'inbound', protocol: 'tcp', localPort: 70000 }, forwardAs: {} },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('selector.localPort');
    const after = await api.get(`/api/rule-sets/${ruleSetId}`);
    expect(after.body.version).toBe(before.body.version);
    expect(after.body.rules).toEqual(before.body.rules);
  });

  it('pushes a rule, the agent applies it, forwards real packets and its activity is stored', async () => {
    const created = await api.post(`/api/rule-sets/${ruleSetId}/rules`, {
      rule: {
        description: 'web to 8080',
        selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
        forwardAs: { localPort: 8080 },
      },
    });
    expect(created.status).toBe(201);
    const version: number = created.body.version;
    const rule = created.body.rules.at(-1);
    expect(rule.id).toEqual(expect.any(String));

    const push = await api.post('/api/pushes', { ruleSetId, version, agentIds: [agent.id] });
    expect(push.status).toBe(201);
    await eventually(async () => {
      const res = await api.get(`/api/pushes/${push.body.id}`);
      const target = res.body.targets.find((t: { agentId: string }) => t.agentId === agent.id);
      if (target.state === 'failed') throw new Error(`push failed: ${JSON.stringify(target.errors)}`);
      return target.state === 'applied' ? target : undefined;
    }, 'push applied');
    const shown = await api.get(`/api/agents/${agent.id}`);
    expect(shown.body.appliedVersion).toBe(version);
    expect(shown.body.appliedRuleSetId).toBe(ruleSetId);
    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${version}\\b`), 10_000);

    // Real bytes through the agent's engine: a client's SYN to port 80 arrives at 8080, and the
    // server's answer from 8080 leaves as if from 80.
    const tap = await TapClient.connect(agent.tap);
    try {
      const syn = ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 40000, dport: 80, protocol: 'tcp' });
      const inbound = await tap.send(syn, 0, 2);
      expect(inbound.verdict).toBe(Verdict.AcceptModified);
      expect(parseIpv4(inbound.bytes)).toMatchObject({ dport: 8080, sport: 40000, ipChecksumOk: true, transportChecksumOk: true });
      const synAck = ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.7', sport: 8080, dport: 40000, protocol: 'tcp' });
      const outbound = await tap.send(synAck, PacketFlag.Outbound, 2);
      expect(outbound.verdict).toBe(Verdict.AcceptModified);
      expect(parseIpv4(outbound.bytes)).toMatchObject({ sport: 80, dport: 40000, ipChecksumOk: true, transportChecksumOk: true });
    } finally {
      tap.close();
    }

    const totals = await eventually(async () => {
      const res = await api.get(`/api/activity?agentId=${agent.id}&ruleId=${rule.id}`);
      const total = res.body.totals?.[0];
      return total && total.packetsIn >= 1 && total.packetsOut >= 1 ? total : undefined;
    }, 'activity stored');
    expect(totals).toMatchObject({ agentId: agent.id, ruleId: rule.id, packetsIn: 1, packetsOut: 1 });
    expect(totals.bytesIn).toBe(40);
    expect(totals.bytesOut).toBe(40);
  });
});
