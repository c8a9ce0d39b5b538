/**
 * The real agent command line on the Linux data plane: `portfleet-agent run --dataplane linux
 * --standalone --rules FILE` in the agent namespace forwards real TCP, and SIGTERM removes its
 * steering rules.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { client, createTopology, describeDataPlane, destroyTopology, NsProcess, peerArgs, sh, type Topology } from './support/netns';

jest.setTimeout(90_000);

const SUPPORT = path.join(__dirname, 'support');

describeDataPlane('portfleet-agent run --dataplane linux', () => {
  let topo: Topology;
  let stateDir: string;
  const running: NsProcess[] = [];

  beforeAll(async () => {
    topo = await createTopology(`c${process.pid % 10000}`);
    stateDir = mkdtempSync(path.join(tmpdir(), 'portfleet-agent-linux-'));
  }, 60_000);

  afterAll(async () => {
    for (const p of running.splice(0)) await p.stop();
    if (topo) await destroyTopology(topo.names);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('standalone with a rules file: scenario 1 over the kernel, rules gone after SIGTERM', async () => {
    const rulesFile = path.join(stateDir, 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        format: 'portfleet-rules',
        version: 1,
        rules: [{ id: 'web', enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } }],
      }),
    );
    const server = new NsProcess(topo.agent.ns, peerArgs('tcp-server', '::', 8080));
    running.push(server);
    await server.next('listening');
    const agent = new NsProcess(topo.agent.ns, [
      '-r',
      path.join(SUPPORT, 'register-ts.js'),
      path.join(SUPPORT, 'cli.ts'),
      'run',
      '--dataplane',
      'linux',
      '--standalone',
      '--rules',
      rulesFile,
      '--state-dir',
      path.join(stateDir, 'state'),
    ]);
    running.push(agent);
    await agent.line(/^PORTFLEET_AGENT_APPLIED version=\d+ source=/);

    expect(await client(topo.client.ns, 'tcp-client', topo.agent.client.v4, 80, 1_000_000)).toMatchObject({ ok: true, bytes: 1_000_000, remote: { port: 80 } });
    expect(await client(topo.client.ns, 'tcp-client', topo.agent.client.v6, 80, 1_000_000)).toMatchObject({ ok: true, bytes: 1_000_000, remote: { port: 80 } });
    expect(await sh(topo.agent.ns, 'iptables-nft -t mangle -S PORTFLEET')).toContain('--dport 80 -j NFQUEUE');
    // The kernel fast path is on by default for the real agent.
    expect(await sh(topo.agent.ns, 'nft list tables')).toContain('portfleet_fast');

    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(await sh(topo.agent.ns, 'iptables-nft -t mangle -S; ip6tables-nft -t raw -S')).not.toContain('PORTFLEET');
    expect(await sh(topo.agent.ns, 'nft list tables')).not.toContain('portfleet_fast');
    expect(await client(topo.client.ns, 'tcp-client', topo.agent.client.v4, 80, 10)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });
});
