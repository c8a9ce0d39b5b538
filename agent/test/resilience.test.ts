/**
 * Issue 5 acceptance with the real controller (built, on its own embedded PostgreSQL) and real
 * agent processes: the controller killed during a push, the agent killed, the controller away at
 * the agent's boot, a corrupt state file. Activity is counted exactly once: every packet this test
 * sends through an agent's tap is one packetsIn at that agent, and the controller's stored totals
 * must come to exactly the number sent — no report lost, none counted twice.
 * Needs `npm run build` first.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ApiSession } from '../../test/support/api';
import { startStack, type AgentHandle, type Stack } from '../../test/support/stack';
import { TapClient } from '../src/divert/tap-client';
import { ipv4Packet, parseIpv4 } from './support/packets';

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Inbound SYNs to local port 80 through the agent's tap; resolves with how many the rule rewrote to 8080. */
async function sendWebPackets(tap: string, count: number, firstPort: number): Promise<number> {
  const client = await TapClient.connect(tap);
  let forwarded = 0;
  try {
    for (let i = 0; i < count; i++) {
      const result = await client.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: firstPort + i, dport: 80, protocol: 'tcp' }), 0, 1);
      if (parseIpv4(result.bytes).dport === 8080) forwarded++;
    }
  } finally {
    client.close();
  }
  return forwarded;
}

describe('agent resilience against the real controller', () => {
  let stack: Stack;
  let api: ApiSession;

  const storedPacketsIn = async (agentId: string): Promise<number> => {
    const res = await api.get(`/api/activity?agentId=${agentId}`);
    if (res.status !== 200) throw new Error(`activity: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body.totals as { packetsIn: number }[]).reduce((sum, t) => sum + t.packetsIn, 0);
  };
  const login = async () => {
    api = await eventually(() => stack.login(), 'login', 60_000);
  };
  /** A rule set of this test's own (the trial allows 3 rules per host, so tests do not share one). */
  const newRuleSet = async (name: string): Promise<string> => {
    const created = await api.post('/api/rule-sets', { name });
    expect(created.status).toBe(201);
    return created.body.id;
  };
  /** Adds a rule (a new version) and pushes it; resolves with the push id and version. */
  const pushNewRule = async (ruleSetId: string, agent: AgentHandle, localPort: number, to: number): Promise<{ pushId: string; version: number }> => {
    const created = await api.post(`/api/rule-sets/${ruleSetId}/rules`, {
      rule: { selector: { direction: 'inbound', protocol: 'tcp', localPort }, forwardAs: { localPort: to } },
    });
    expect(created.status).toBe(201);
    const push = await api.post('/api/pushes', { ruleSetId, version: created.body.version, agentIds: [agent.id] });
    expect(push.status).toBe(201);
    return { pushId: push.body.id, version: created.body.version };
  };
  const appliedVersion = async (agentId: string): Promise<number | null> => (await api.get(`/api/agents/${agentId}`)).body.appliedVersion ?? null;

  beforeAll(async () => {
    stack = await startStack();
    await login();
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('converges and counts activity exactly once when the controller is killed during a push', async () => {
    const agent = await stack.startAgent({ name: 'edge-push', reportIntervalMs: 200 });
    // Enrollment kept the key the controller signs capability snapshots with; every push below
    // carries a snapshot the agent verifies with it.
    const credential = JSON.parse(readFileSync(path.join(agent.stateDir, 'credential.json'), 'utf8')) as { controllerPublicKey?: string };
    expect(createPublicKey(credential.controllerPublicKey!).asymmetricKeyType).toBe('ed25519');
    const ruleSetId = await newRuleSet('resilience-push');
    const first = await pushNewRule(ruleSetId, agent, 80, 8080);
    await eventually(async () => ((await appliedVersion(agent.id)) === first.version ? true : undefined), 'first push applied');
    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${first.version} source=controller`), 15_000);

    // Traffic all along: before, across the crash and after the restart.
    let sent = await sendWebPackets(agent.tap, 40, 10_000);
    // With an apply delay the agent is still applying when the controller dies: its ack is owed
    // and must arrive after the restart (or the restarted controller re-sends the push).
    const delayed = await api.put(`/api/rule-sets/${ruleSetId}/settings`, { settings: { applyDelayMs: 1_500, tcpTimeoutS: 120, udpTimeoutS: 60 } });
    expect(delayed.status).toBe(200);
    const second = await pushNewRule(ruleSetId, agent, 81, 8181);
    await agent.service.waitFor(new RegExp(`"event":"rules.received".*"version":${second.version}\\b`), 15_000);
    await stack.controller.kill();
    sent += await sendWebPackets(agent.tap, 40, 20_000);
    await stack.restartController();
    await login();
    sent += await sendWebPackets(agent.tap, 40, 30_000);
    expect(sent).toBe(120);

    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${second.version} source=controller`), 90_000);
    await eventually(async () => {
      const push = (await api.get(`/api/pushes/${second.pushId}`)).body;
      const target = push.targets?.find((t: { agentId: string }) => t.agentId === agent.id);
      if (target?.state === 'failed') throw new Error(`push failed: ${JSON.stringify(target.errors)}`);
      return target?.state === 'applied' ? target : undefined;
    }, 'second push applied after the restart', 90_000);
    expect(await appliedVersion(agent.id)).toBe(second.version);

    await eventually(async () => ((await storedPacketsIn(agent.id)) >= sent ? true : undefined), 'all activity stored', 60_000);
    // Several more report periods (and a final report at stop): nothing may be counted twice.
    await new Promise((r) => setTimeout(r, 1_500));
    await agent.stop();
    expect(await storedPacketsIn(agent.id)).toBe(sent);
  }, 300_000);

  it('re-applies the rules from disk before the controller is reachable, and delivers what it counted meanwhile', async () => {
    const agent = await stack.startAgent({ name: 'edge-boot', reportIntervalMs: 200 });
    const pushed = await pushNewRule(await newRuleSet('resilience-boot'), agent, 80, 8080);
    await eventually(async () => ((await appliedVersion(agent.id)) === pushed.version ? true : undefined), 'push applied');
    let sent = await sendWebPackets(agent.tap, 10, 40_000);
    await eventually(async () => ((await storedPacketsIn(agent.id)) === sent ? true : undefined), 'activity stored before the outage');

    // Agent killed (no goodbye), controller down: the restarted agent must forward on its own.
    await agent.service.kill();
    await stack.controller.stop();
    await agent.restart({ waitConnected: false });
    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${pushed.version} source=disk`), 15_000);
    sent += await sendWebPackets(agent.tap, 25, 41_000);
    expect(sent).toBe(35);
    // Backoff while the controller is away: growing delays, none above the 30 s cap.
    await new Promise((r) => setTimeout(r, 4_000));
    const delays = agent.service.output
      .filter((line) => line.includes('"controller.connect_failed"'))
      .map((line) => (JSON.parse(line) as { retryInMs: number }).retryInMs);
    expect(delays.length).toBeGreaterThanOrEqual(2);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(30_000);
    expect(agent.service.output.some((line) => line.startsWith('PORTFLEET_AGENT_CONNECTED'))).toBe(false);

    await stack.restartController();
    await login();
    await agent.service.waitFor(/PORTFLEET_AGENT_CONNECTED/, 90_000);
    await eventually(async () => ((await storedPacketsIn(agent.id)) >= sent ? true : undefined), 'buffered activity delivered', 60_000);
    // It runs what the controller wants already: no re-push, no second apply.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(agent.service.output.filter((line) => line.startsWith('PORTFLEET_AGENT_APPLIED'))).toEqual([`PORTFLEET_AGENT_APPLIED version=${pushed.version} source=disk`]);
    await agent.stop();
    expect(await storedPacketsIn(agent.id)).toBe(sent);
  }, 300_000);

  it('starts with no rules from a corrupt applied state (kept aside) and converges to the desired version', async () => {
    const agent = await stack.startAgent({ name: 'edge-corrupt', reportIntervalMs: 200 });
    const pushed = await pushNewRule(await newRuleSet('resilience-corrupt'), agent, 80, 8080);
    await eventually(async () => ((await appliedVersion(agent.id)) === pushed.version ? true : undefined), 'push applied');
    await agent.stop();

    writeFileSync(path.join(agent.stateDir, 'applied.json'), '{"pushId": "p", "ruleSet": {');
    await agent.restart();
    expect(agent.service.output.some((line) => line.includes('"state.corrupt"'))).toBe(true);
    await agent.service.waitFor(new RegExp(`PORTFLEET_AGENT_APPLIED version=${pushed.version} source=controller`), 60_000);
    expect(await sendWebPackets(agent.tap, 3, 50_000)).toBe(3);
    await agent.stop();
  }, 180_000);
});
