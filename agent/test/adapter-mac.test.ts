/**
 * MAC changes for real (issue 5): a veth pair inside a network namespace this suite creates, the
 * agent CLI run in that namespace (`ip netns exec`), the kernel's view read back with `ip -j link`.
 * Also the controller's AdapterCommand over a real gRPC stream: from the fake controller (on a Unix
 * socket the namespaced agent can reach) and from the real one through its HTTP API (built
 * controller, reached through a Unix socket relay; needs `npm run build`). Needs root; skipped with the reason
 * otherwise, and fails instead under CI=true.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { Service } from '../../test/support/service';
import { startStack } from '../../test/support/stack';
import { OUI_VENDORS } from '../src/mac/oui-vendors';
import { describeWhenAble } from './support/describe-when-able';
import { FakeController, newMemory } from './support/fake-controller';
import { buildAgentCli, CLI, REPO, runCli } from './support/agent-cli';

const NS = `pfmac-${process.pid}`;
const ORIGINAL = '02:aa:00:00:00:01';

function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'MAC changes through ip link need Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, ip link set address)';
  if (spawnSync('sh', ['-c', 'command -v ip'], { stdio: 'ignore' }).status !== 0) return 'missing ip (apt-get install iproute2)';
  return null;
}

function link(name: string): { address: string; flags: string[]; ifindex: number } {
  const [info] = JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' })) as { address: string; flags: string[]; ifindex: number }[];
  return info!;
}

const cli = (args: string[]) => runCli(args, { prefix: ['ip', 'netns', 'exec', NS] });

describeWhenAble('adapter MAC changes in a network namespace', cannotRun(), () => {
  let work: string;
  let stateDir: string;

  beforeAll(() => {
    buildAgentCli();
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'pfm0', 'address', ORIGINAL, 'type', 'veth', 'peer', 'name', 'pfm1']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'pfm0', 'up']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'pfm1', 'up']);
  }, 180_000);
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-mac-'));
    stateDir = path.join(work, 'state');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('sets a typed MAC, a random vendor MAC, and restores the original; the link stays up', async () => {
    const listed = await cli(['adapter', 'list', '--json', '--state-dir', stateDir]);
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pfm0', macs: [ORIGINAL], originalMac: null })]));

    const set = await cli(['adapter', 'set-mac', 'pfm0', '00-1B-21-0A-0B-0C', '--state-dir', stateDir]);
    expect(set).toMatchObject({ code: 0, stdout: `PORTFLEET_AGENT_MAC adapter=pfm0 mac=00:1b:21:0a:0b:0c original=${ORIGINAL}\n` });
    expect(link('pfm0')).toMatchObject({ address: '00:1b:21:0a:0b:0c', flags: expect.arrayContaining(['UP']) });
    expect(JSON.parse(readFileSync(path.join(stateDir, 'adapters.json'), 'utf8'))).toEqual({ originalMacs: { pfm0: ORIGINAL } });

    // By interface index, with a vendor: the original recorded before the first change stays.
    const random = await cli(['adapter', 'random-mac', String(link('pfm0').ifindex), '--vendor', 'cisco', '--state-dir', stateDir]);
    expect(random.code).toBe(0);
    const mac = link('pfm0').address;
    expect(random.stdout).toBe(`PORTFLEET_AGENT_MAC adapter=pfm0 mac=${mac} original=${ORIGINAL}\n`);
    expect(OUI_VENDORS.find((v) => v.name === 'Cisco')!.ouis).toContain(mac.slice(0, 8));

    const listedNow = await cli(['adapter', 'list', '--state-dir', stateDir]);
    expect(listedNow.stdout).toMatch(new RegExp(`pfm0\\t${mac} \\[Cisco\\] \\(changed; original ${ORIGINAL}\\)`));

    const restored = await cli(['adapter', 'restore-mac', 'pfm0', '--state-dir', stateDir]);
    expect(restored).toMatchObject({ code: 0, stdout: `PORTFLEET_AGENT_MAC adapter=pfm0 mac=${ORIGINAL} original=${ORIGINAL}\n` });
    expect(link('pfm0')).toMatchObject({ address: ORIGINAL, flags: expect.arrayContaining(['UP']) });
    expect(JSON.parse(readFileSync(path.join(stateDir, 'adapters.json'), 'utf8'))).toEqual({ originalMacs: {} });
  }, 60_000);

  it('refuses bad input and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['set-mac', 'pfm0', 'ff:ff:ff:ff:ff:ff'], /multicast\/broadcast/],
      [['set-mac', 'pfm0', '00:1b:21:0a:0b'], /not a MAC address/],
      [['set-mac', 'nope0', '00:1b:21:0a:0b:0c'], /no adapter "nope0" on this host \(adapters: .*pfm0#/],
      [['random-mac', 'pfm0', '--vendor', 'Acme'], /unknown vendor "Acme"/],
      [['restore-mac', 'pfm1'], /never changed by this agent: nothing to restore/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(['adapter', ...args, '--state-dir', stateDir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    }
    expect(link('pfm0').address).toBe(ORIGINAL);
    expect(link('pfm1').flags).toContain('UP');
  }, 60_000);

  it('changes a MAC through the real controller\'s HTTP API (set, random by vendor, restore) and the inventory follows', async () => {
    // The namespaced agent reaches the controller's loopback gRPC port through a Unix socket relay.
    const stack = await startStack();
    const relayPath = path.join(work, 'grpc.sock');
    const [host, port] = [stack.grpcAddress.split(':')[0]!, Number(stack.grpcAddress.split(':')[1])];
    // Either end may go first (the stack stops under a live agent): each end's error closes both.
    const relay = net.createServer((socket) => {
      const upstream = net.connect(port, host);
      const close = () => { socket.destroy(); upstream.destroy(); };
      socket.on('error', close).pipe(upstream).on('error', close).pipe(socket);
    });
    await new Promise<void>((resolve) => relay.listen(relayPath, resolve));
    let agent: Service | undefined;
    try {
      const api = await stack.login();
      const token = (await api.post('/api/enrollment-tokens', {})).body.token as string;
      expect((await cli(['enroll', '--controller', `unix:${relayPath}`, '--token', token, '--state-dir', stateDir])).code).toBe(0);
      agent = new Service('agent', 'ip', ['netns', 'exec', NS, process.execPath, CLI, 'run', '--state-dir', stateDir, '--dataplane', 'memory'], { cwd: REPO });
      const agentId = (await agent.waitFor(/PORTFLEET_AGENT_CONNECTED agent=(\S+)/, 30_000))[1]!;
      const pfm0 = async () => ((await api.get(`/api/agents/${agentId}`)).body.adapters as { name: string; macs: string[] }[]).find((a) => a.name === 'pfm0');
      // The Welcome (which the agent announces) leaves before the controller's batched Hello write stores the inventory.
      for (let deadline = Date.now() + 10_000; (await pfm0()) === undefined && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      expect(await pfm0()).toMatchObject({ macs: [ORIGINAL] });

      const set = await api.post(`/api/agents/${agentId}/adapters/pfm0/mac`, { action: 'set', mac: '00:1c:73:aa:bb:cc' });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ ok: true, mac: '00:1c:73:aa:bb:cc' });
      expect(link('pfm0').address).toBe('00:1c:73:aa:bb:cc');
      expect(await pfm0()).toMatchObject({ macs: ['00:1c:73:aa:bb:cc'] });

      const random = await api.post(`/api/agents/${agentId}/adapters/${link('pfm0').ifindex}/mac`, { action: 'random', vendor: 'Raspberry Pi' });
      expect(random.body).toMatchObject({ ok: true });
      expect(OUI_VENDORS.find((v) => v.name === 'Raspberry Pi')!.ouis).toContain(link('pfm0').address.slice(0, 8));

      const refused = await api.post(`/api/agents/${agentId}/adapters/pfm0/mac`, { action: 'set', mac: 'ff:ff:ff:ff:ff:ff' });
      expect(refused.body).toMatchObject({ ok: false, error: expect.stringMatching(/multicast/) });

      const restored = await api.post(`/api/agents/${agentId}/adapters/pfm0/mac`, { action: 'restore' });
      expect(restored.body).toMatchObject({ ok: true, mac: ORIGINAL });
      expect(link('pfm0').address).toBe(ORIGINAL);
      expect(await pfm0()).toMatchObject({ macs: [ORIGINAL] });
    } finally {
      await agent?.stop();
      relay.close();
      await stack.stop();
    }
  }, 240_000);

  it('carries out the controller\'s AdapterCommand and answers with the result, the inventory and a fresh Hello', async () => {
    const memory = newMemory(['tok-mac']);
    const controller = await FakeController.start({ unixSocket: path.join(work, 'controller.sock'), memory });
    let agent: Service | undefined;
    try {
      expect((await cli(['enroll', '--controller', controller.address, '--token', 'tok-mac', '--state-dir', stateDir])).code).toBe(0);
      agent = new Service('agent', 'ip', ['netns', 'exec', NS, process.execPath, CLI, 'run', '--state-dir', stateDir, '--dataplane', 'memory', '--report-interval-ms', '200'], { cwd: REPO });
      await agent.waitFor(/PORTFLEET_AGENT_CONNECTED/, 30_000);
      const stream = controller.streams.at(-1)!;
      await controller.until(() => stream.hello !== undefined, 10_000, 'hello');
      expect(stream.hello!.adapters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pfm0', macs: [ORIGINAL] })]));

      stream.command({ commandId: 'c1', adapter: 'pfm0', action: { $case: 'setMac', value: '00:50:56:01:02:03' } });
      await controller.until(() => stream.adapterResults.length === 1 && stream.hellos.length === 2, 15_000, 'adapter result and new Hello');
      expect(stream.adapterResults[0]).toMatchObject({ commandId: 'c1', ok: true, error: '', mac: '00:50:56:01:02:03' });
      expect(stream.adapterResults[0]!.adapters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pfm0', macs: ['00:50:56:01:02:03'] })]));
      expect(stream.hellos[1]!.adapters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'pfm0', macs: ['00:50:56:01:02:03'] })]));
      expect(link('pfm0').address).toBe('00:50:56:01:02:03');

      stream.command({ commandId: 'c2', adapter: 'pfm0', action: { $case: 'setMac', value: '01:00:5e:00:00:01' } });
      await controller.until(() => stream.adapterResults.length === 2, 15_000, 'refused command result');
      expect(stream.adapterResults[1]).toMatchObject({ commandId: 'c2', ok: false, error: expect.stringMatching(/multicast/) });

      stream.command({ commandId: 'c3', adapter: 'pfm0', action: { $case: 'restoreMac', value: true } });
      await controller.until(() => stream.adapterResults.length === 3, 15_000, 'restore result');
      expect(stream.adapterResults[2]).toMatchObject({ commandId: 'c3', ok: true, mac: ORIGINAL });
      expect(link('pfm0').address).toBe(ORIGINAL);
    } finally {
      await agent?.stop();
      controller.kill();
    }
  }, 90_000);
});
