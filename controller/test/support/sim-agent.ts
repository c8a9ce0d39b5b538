import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import { AgentConnection, enroll } from './grpc-clients';
import type { HttpClient } from './test-controller';

export interface SimAgent {
  agentId: string;
  credential: string;
  capabilityPublicKeyPem: string;
  conn: AgentConnection;
}

/** The Hello of a fresh Linux agent with one adapter that runs no rule set yet. */
export function helloMessage(hostname: string) {
  return {
    $case: 'hello' as const,
    value: {
      hostname,
      platform: 'linux',
      version: '0.1.0',
      adapters: [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.10'] }],
      dataplane: { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true },
      appliedRuleSetId: '',
      appliedVersion: 0,
      appliedContentHash: '',
    },
  };
}

/** Enrolls through the real API and gRPC, connects and says Hello: an agent as the controller sees one. */
export async function simAgent(admin: HttpClient, agents: AgentServiceClient, hostname: string): Promise<SimAgent> {
  const token = (await admin.post('/api/enrollment-tokens', {})).body.token;
  const { agentId, credential, capabilityPublicKeyPem } = await enroll(agents, token, hostname);
  const conn = new AgentConnection(agents, agentId, credential);
  conn.send(helloMessage(hostname));
  await conn.next('welcome');
  // The Welcome leaves before the Hello's batched write that makes the agent online (and able to
  // receive pushes): wait for that too, as an operator would see it.
  const online = await until(() => admin.get(`/api/agents/${agentId}`), (r) => r.body.online === true, 10_000);
  if (online.body.online !== true) throw new Error(`${hostname} was welcomed but did not show online`);
  return { agentId, credential, capabilityPublicKeyPem: capabilityPublicKeyPem ?? '', conn };
}

/** Waits for the next ApplyRuleSet and answers it (applied, or failed with one rule error). */
export async function answer(agent: SimAgent, applied: boolean) {
  const apply = await agent.conn.next('apply');
  const v = apply.ruleSet!;
  agent.conn.send({
    $case: 'ack',
    value: {
      pushId: apply.pushId,
      ruleSetId: v.ruleSetId,
      version: v.version,
      contentHash: v.contentHash,
      applied,
      errors: applied ? [] : [{ ruleIndex: 0, ruleId: v.rules[0]?.id ?? '', field: 'selector.adapter', code: 'UNSUPPORTED', message: 'the data plane cannot select adapters' }],
    },
  });
  return apply;
}

export async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
