/**
 * An automation client built from the .proto files alone (@grpc/proto-loader, none of our
 * generated code) drives a full push and reads the per-agent status: what a script in any
 * language with protoc would do. The agent side is a simulated agent on the generated client.
 */
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { AgentServiceClient } from '@portfleet/proto/gen/agent';
import { agentClient } from './support/grpc-clients';
import { answer, simAgent, until, type SimAgent } from './support/sim-agent';
import { HttpClient, startTestController, type TestController } from './support/test-controller';

jest.setTimeout(120_000);

const PROTO_ROOT = path.resolve(__dirname, '../../proto');

type Unary = (req: object, md: Metadata, cb: (err: ServiceError | null, res: any) => void) => void;

let controller: TestController;
let admin: HttpClient;
let agents: AgentServiceClient;
let automation: GrpcClient & Record<string, Unary>;
let agent: SimAgent;
const md = new Metadata();

function rpc(method: string, req: object): Promise<any> {
  return new Promise((resolve, reject) => automation[method]!.call(automation, req, md, (err, res) => (err ? reject(err) : resolve(res))));
}

beforeAll(async () => {
  controller = await startTestController();
  admin = await HttpClient.login(controller.httpUrl);
  md.set('authorization', `Bearer ${(await admin.post('/api/api-tokens', { name: 'proto-only' })).body.token}`);
  const definition = loadSync('portfleet/v1/automation.proto', { includeDirs: [PROTO_ROOT], keepCase: false, enums: String, longs: Number, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(definition) as any;
  automation = new pkg.portfleet.v1.AutomationService(controller.grpcAddress, credentials.createInsecure());
  agents = agentClient(controller.grpcAddress);
  agent = await simAgent(admin, agents, 'proto-only-host');
});
afterAll(async () => {
  agent?.conn.close();
  agents?.close();
  automation?.close();
  await controller?.shutdown();
});

it('creates rules, pushes them to a group, and reads per-agent status with only the .proto files', async () => {
  const tagged = await rpc('UpdateAgent', { id: agent.agentId, groups: { values: ['edge'] } });
  expect(tagged.groups).toEqual(['edge']);

  const set = await rpc('CreateRuleSet', { name: 'from-proto' });
  const rule = {
    enabled: true,
    activityMonitoring: true,
    selector: { direction: 'DIRECTION_INBOUND', protocol: 'PROTOCOL_TCP', localPort: 80 },
    forwardAs: { localPort: 8080 },
  };
  const withRule = await rpc('CreateRule', { ruleSetId: set.id, rule });
  expect(withRule.latest.version).toBe(2);
  expect(withRule.latest.rules[0].selector).toMatchObject({ direction: 'DIRECTION_INBOUND', localPort: 80 });

  const bad = (await rpc('CreateRule', { ruleSetId: set.id, rule: { ...rule, selector: { ...rule.selector, localPort: 0 } } }).catch((e) => e)) as ServiceError;
  expect(bad.details).toMatch(/^selector\.localPort:/);

  const dry = await rpc('DryRunPush', { ruleSetId: set.id, groups: ['edge'] });
  expect(dry.agents.map((a: any) => [a.agentId, a.diff.added.length])).toEqual([[agent.agentId, 1]]);

  const push = await rpc('CreatePush', { ruleSetId: set.id, groups: ['edge'] });
  expect(push.targets).toEqual([expect.objectContaining({ agentId: agent.agentId, state: 'PUSH_AGENT_STATE_DELIVERED' })]);
  const apply = await answer(agent, true);
  expect(apply.pushId).toBe(push.id);

  const done = await until(() => rpc('GetPush', { id: push.id }), (p) => p.status === 'completed');
  expect(done.targets).toEqual([expect.objectContaining({ agentId: agent.agentId, state: 'PUSH_AGENT_STATE_APPLIED', errors: [] })]);
  const status = await rpc('GetAgent', { id: agent.agentId });
  expect([status.appliedRuleSetId, status.appliedVersion, status.drift, status.edition]).toEqual([set.id, 2, false, 'EDITION_TRIAL']);
  const license = await rpc('GetLicense', {});
  expect([license.status, license.maxRules]).toEqual(['trial', 3]);
});
