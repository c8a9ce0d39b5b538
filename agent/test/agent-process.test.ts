/**
 * The real agent process (`node agent/bin/portfleet-agent.js`, from the build output) against a
 * real grpc-js AgentService in the test, with packets through the memory data plane's tap.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { capabilitiesFor, signCapabilities } from '@portfleet/proto';
import { Service } from '../../test/support/service';
import { TapClient } from '../src/divert/tap-client';
import { FakeController, newMemory } from './support/fake-controller';
import { ipv4Packet, parseIpv4 } from './support/packets';
import { forward80to8080, forward80to9090, pushOf } from './support/rule-sets';
import { buildAgentCli, CLI, REPO, runCli } from './support/agent-cli';


const cli = (args: string[]) => runCli(args);

async function dportThroughTap(tap: string, sport: number): Promise<number> {
  const client = await TapClient.connect(tap);
  try {
    const result = await client.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport, dport: 80, protocol: 'tcp' }), 0, 1);
    return parseIpv4(result.bytes).dport;
  } finally {
    client.close();
  }
}

describe('agent process', () => {
  let work: string;
  let stateDir: string;
  let tap: string;
  const services: Service[] = [];
  const controllers: FakeController[] = [];

  const startController = async (options: Parameters<typeof FakeController.start>[0]) => {
    const controller = await FakeController.start(options);
    controllers.push(controller);
    return controller;
  };
  const run = (extra: string[] = []) => {
    const service = new Service('agent', process.execPath, [CLI, 'run', '--state-dir', stateDir, '--dataplane', 'memory', '--tap', tap, '--report-interval-ms', '200', ...extra], {
      cwd: REPO,
      env: { PORTFLEET_AGENT_HOSTNAME: 'host-a' },
    });
    services.push(service);
    return service;
  };
  const enrollWith = async (controller: FakeController, token: string) => {
    const result = await cli(['enroll', '--controller', controller.address, '--token', token, '--state-dir', stateDir]);
    expect(result).toMatchObject({ code: 0 });
    return /PORTFLEET_AGENT_ENROLLED agent=(\S+)/.exec(result.stdout)![1]!;
  };

  beforeAll(() => {
    buildAgentCli();
  }, 180_000);
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-agent-'));
    stateDir = path.join(work, 'state');
    tap = path.join(work, 'tap.sock');
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
    controllers.splice(0).forEach((c) => c.kill());
    rmSync(work, { recursive: true, force: true });
  });

  it('enrolls once per token and refuses a used token with the controller\'s message', async () => {
    const controller = await startController({ memory: newMemory(['tok-1']) });
    const first = await cli(['enroll', '--controller', controller.address, '--token', 'tok-1', '--state-dir', stateDir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('PORTFLEET_AGENT_ENROLLED agent=agent-1\n');
    const credentialFile = path.join(stateDir, 'credential.json');
    expect(statSync(credentialFile).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(credentialFile, 'utf8'))).toEqual({ controller: controller.address, agentId: 'agent-1', credential: 'secret-agent-1' });

    const again = await cli(['enroll', '--controller', controller.address, '--token', 'tok-1', '--state-dir', stateDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already enrolled as agent agent-1/);

    const reused = await cli(['enroll', '--force', '--controller', controller.address, '--token', 'tok-1', '--state-dir', stateDir]);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toBe('portfleet-agent: enrollment failed: controller refused the enrollment: enrollment token was already used\n');
    expect(JSON.parse(readFileSync(credentialFile, 'utf8')).agentId).toBe('agent-1');

    const status = await cli(['status', '--json', '--state-dir', stateDir]);
    expect(JSON.parse(status.stdout)).toMatchObject({ enrolled: true, agentId: 'agent-1', applied: null, reportsOwed: 0 });
  }, 60_000);

  it('keeps the capability key from enrollment and refuses a tampered snapshot, keeping its rules', async () => {
    const keys = generateKeyPairSync('ed25519');
    const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const controller = await startController({ memory: newMemory(['tok-a', 'tok-b']), capabilityPublicKeyPem: pem });
    // A pinned key that differs from the controller's: nothing stored.
    const otherKey = path.join(work, 'other.pem');
    writeFileSync(otherKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const pinned = await cli(['enroll', '--controller', controller.address, '--token', 'tok-a', '--controller-key', otherKey, '--state-dir', stateDir]);
    expect(pinned).toMatchObject({ code: 1, stderr: expect.stringMatching(/signs capabilities with a different key than --controller-key/) });
    expect(existsSync(path.join(stateDir, 'credential.json'))).toBe(false);

    const agentId = await enrollWith(controller, 'tok-b');
    expect(JSON.parse(readFileSync(path.join(stateDir, 'credential.json'), 'utf8')).controllerPublicKey).toBe(pem);
    const agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_CONNECTED /, 15_000);
    const stream = controller.streams.at(-1)!;
    const snapshot = signCapabilities(capabilitiesFor(agentId, 'basic', Date.now(), null), keys.privateKey);
    stream.push(pushOf({ version: 1, rules: [forward80to8080()], capabilities: snapshot }));
    await controller.until(() => stream.acks.length === 1, 10_000, 'ack');
    expect(stream.acks[0]).toMatchObject({ version: 1, applied: true });

    // Basic → Ultimate in the payload, the signature left alone.
    const payload = { ...JSON.parse(Buffer.from(snapshot.payload).toString('utf8')), edition: 'ultimate', maxRules: 50 };
    const tampered = { payload: Buffer.from(JSON.stringify(payload)), signature: snapshot.signature };
    stream.push(pushOf({ version: 2, rules: [{ ...forward80to9090(), description: 'needs more than Basic' }], capabilities: tampered }));
    await controller.until(() => stream.acks.length === 2, 10_000, 'second ack');
    expect(stream.acks[1]).toMatchObject({ version: 2, applied: false, errors: [expect.objectContaining({ field: 'capabilities.signature', code: 'INVALID_SIGNATURE' })] });
    expect(await dportThroughTap(tap, 45_000)).toBe(8080);
  }, 60_000);

  it('says clearly when the controller cannot be reached at enrollment', async () => {
    const result = await cli(['enroll', '--controller', '127.0.0.1:1', '--token', 't', '--state-dir', stateDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/controller 127\.0\.0\.1:1 is not reachable/);
  });

  it('connects, applies a push, forwards packets, reports activity exactly once across a controller restart, and re-applies from disk at boot', async () => {
    const memory = newMemory(['tok']);
    let controller = await startController({ memory, heartbeatIntervalMs: 500 });
    const agentId = await enrollWith(controller, 'tok');

    let agent = run();
    await agent.waitFor(new RegExp(`^PORTFLEET_AGENT_CONNECTED agent=${agentId}$`), 15_000);
    const stream = controller.streams[0]!;
    expect(stream.authorization).toBe(`Bearer ${agentId}.secret-${agentId}`);
    expect(stream.hello).toMatchObject({
      hostname: 'host-a',
      platform: 'linux',
      version: '0.1.0',
      dataplane: { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true },
      appliedRuleSetId: '',
      appliedVersion: 0,
    });
    expect(stream.hello!.adapters).toContainEqual(expect.objectContaining({ name: 'lo', index: 1, addresses: expect.arrayContaining(['127.0.0.1']) }));

    const push = pushOf({ version: 1, rules: [forward80to8080()] });
    stream.push(push);
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=controller$/, 10_000);
    await controller.until(() => stream.acks.length === 1, 5_000, 'ack');
    expect(stream.acks[0]).toEqual({ pushId: 'push-1', ruleSetId: 'rs-1', version: 1, contentHash: push.ruleSet!.contentHash, applied: true, errors: [] });

    // A push the agent must refuse: it says why and keeps forwarding with version 1.
    stream.push(pushOf({ version: 2, rules: [{ ...forward80to8080(), forwardAs: { localPort: 0 } }] }));
    await controller.until(() => stream.acks.length === 2, 5_000, 'second ack');
    expect(stream.acks[1]).toMatchObject({ version: 2, applied: false, errors: [expect.objectContaining({ ruleIndex: 0, field: 'forwardAs.localPort', code: 'INVALID_PORT' })] });

    for (let i = 0; i < 3; i++) expect(await dportThroughTap(tap, 40_000 + i)).toBe(8080);
    await controller.until(() => memory.packetsIn.get(agentId) === 3, 10_000, '3 packets reported');

    // Controller dies; the agent keeps forwarding and keeps what it owes.
    controller.kill();
    for (let i = 3; i < 5; i++) expect(await dportThroughTap(tap, 40_000 + i)).toBe(8080);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const owed = JSON.parse((await cli(['status', '--json', '--state-dir', stateDir])).stdout).reportsOwed;
    expect(owed).toBeGreaterThanOrEqual(1);

    const linesBefore = agent.output.length;
    controller = await startController({ port: controller.port, memory, heartbeatIntervalMs: 500 });
    await agent.waitFor(/^PORTFLEET_AGENT_CONNECTED /, 20_000, { fromLine: linesBefore });
    await controller.until(() => memory.packetsIn.get(agentId) === 5, 20_000, '5 packets reported after the restart');
    expect(controller.streams[0]!.hello).toMatchObject({ appliedRuleSetId: 'rs-1', appliedVersion: 1, appliedContentHash: push.ruleSet!.contentHash });

    // A clean stop: exit 0, the last period reported, nothing left owed.
    expect(await dportThroughTap(tap, 40_010)).toBe(8080);
    expect(await agent.stop()).toBe(0);
    await controller.until(() => memory.packetsIn.get(agentId) === 6, 5_000, 'the last period reported at stop');
    expect(memory.packetsIn.get(agentId)).toBe(6);

    // Boot with the controller unreachable: rules come back from disk before any connection.
    controller.kill();
    agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=disk$/, 15_000);
    expect(await dportThroughTap(tap, 40_020)).toBe(8080);
    expect(agent.output.some((l) => l.startsWith('PORTFLEET_AGENT_CONNECTED'))).toBe(false);
    controller = await startController({ port: controller.port, memory, heartbeatIntervalMs: 500 });
    await agent.waitFor(/^PORTFLEET_AGENT_CONNECTED /, 20_000);
    await controller.until(() => memory.packetsIn.get(agentId) === 7, 10_000, 'the packet counted while offline');
    expect(await agent.stop()).toBe(0);
    expect(memory.packetsIn.get(agentId)).toBe(7);
  }, 120_000);

  it('notices a controller that stops answering within seconds and connects again', async () => {
    const memory = newMemory(['tok']);
    const controller = await startController({ memory, heartbeatIntervalMs: 200 });
    await enrollWith(controller, 'tok');
    const agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_CONNECTED /, 15_000);
    await controller.until(() => controller.streams[0]!.heartbeats >= 2, 5_000, 'heartbeats');
    controller.silent = true;
    const silentSince = Date.now();
    await controller.until(() => controller.streams.length >= 2, 10_000, 'a second Connect');
    expect(Date.now() - silentSince).toBeLessThan(3_000);
    expect(agent.output.join('\n')).toMatch(/no message from the controller for 600 ms/);
    controller.silent = false;
    await agent.waitFor(/^PORTFLEET_AGENT_CONNECTED /, 10_000, { fromLine: agent.output.findIndex((l) => l.includes('no message from the controller')) });
  }, 60_000);

  it('refuses to run when not enrolled or when the credential file is corrupt, with a clear message', async () => {
    const missing = await cli(['run', '--state-dir', stateDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not enrolled \(no .*credential\.json\); run `portfleet-agent enroll/);
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(path.join(stateDir, 'credential.json'), '{"controller":');
    const corrupt = await cli(['run', '--state-dir', stateDir]);
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toMatch(/credential\.json is corrupt \(not JSON: .*\); enroll again with `portfleet-agent enroll --force/);
    const status = await cli(['status', '--state-dir', stateDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/problem: +state file .*credential\.json is corrupt/);
  });
});
