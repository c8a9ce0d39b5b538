/**
 * The Linux data plane on unfriendly hosts: one that drops conntrack-INVALID packets (as Docker
 * and ufw hosts do), a busy one (the packet path under SCHED_FIFO, and only it), and an agent
 * killed with SIGKILL (fail-open: traffic passes unmodified; the next start removes what the dead
 * agent left).
 */
import type { Rule, Settings } from '@portfleet/proto';
import { client, describeDataPlane, peerArgs, runnerArgs, sh } from './support/netns';
import { usePlane } from './support/plane';

jest.setTimeout(60_000);

const SETTINGS: Settings = { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 };
const PORT_80_TO_8080: Rule = {
  id: 'r1',
  enabled: true,
  activityMonitoring: true,
  selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 },
  forwardAs: { localPort: 8080 },
};

/** Our rules as `iptables -S` shows them, per family and table. */
async function steeringRules(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const tool of ['iptables-nft', 'ip6tables-nft']) {
    for (const table of ['raw', 'mangle']) {
      const text = await sh(ns, `${tool} -t ${table} -S`);
      out.push(...text.split('\n').filter((l) => l.includes('PORTFLEET')).map((l) => `${tool} ${table} ${l}`));
    }
  }
  return out;
}

describeDataPlane('Linux data plane: hostile hosts and crashes', () => {
  const plane = usePlane('r');
  const { start } = plane;

  test('a host dropping conntrack-INVALID packets still gets forwarded connections (diverted traffic is untracked)', async () => {
    const drop = '-m conntrack --ctstate INVALID -j DROP';
    await sh(plane.topo.agent.ns, `for t in iptables-nft ip6tables-nft; do for c in INPUT OUTPUT FORWARD; do $t -A $c ${drop}; done; done`);
    try {
      await start(plane.topo.agent.ns, peerArgs('tcp-server', '::', 8080));
      // The userspace path alone: the kernel fast path translates before conntrack looks (its
      // chains run at priority -250), so once a direction's retransmitted handshake packets have
      // had it offloaded, conntrack sees a consistent flow and the control below would heal.
      await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS, plane: { fastPath: false } }), 'ready');
      expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 200_000)).toMatchObject({ ok: true, bytes: 200_000 });
      expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v6, 80, 200_000)).toMatchObject({ ok: true, bytes: 200_000 });
      // The rule is really there and really matches: conntrack calls the rewritten flow INVALID
      // when it is tracked, which the same test without the raw-table rules shows.
      await sh(plane.topo.agent.ns, 'iptables-nft -t raw -F PORTFLEET');
      process.env.PEER_TIMEOUT_MS = '3000';
      try {
        expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 1000)).toMatchObject({ ok: false, error: 'timeout' });
      } finally {
        delete process.env.PEER_TIMEOUT_MS;
      }
      const counters = await sh(plane.topo.agent.ns, 'iptables-nft -v -S INPUT; iptables-nft -v -S OUTPUT');
      expect(counters).toMatch(/--ctstate INVALID -c [1-9]\d* \d+ -j DROP/);
    } finally {
      await sh(plane.topo.agent.ns, `for t in iptables-nft ip6tables-nft; do for c in INPUT OUTPUT FORWARD; do $t -D $c ${drop}; done; done`);
    }
  });

  test('fail-closed (failOpen: false): while no agent listens, the selected traffic is dropped', async () => {
    await start(plane.topo.agent.ns, peerArgs('tcp-server', '::', 8080));
    const agent = await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS, plane: { failOpen: false } }), 'ready');
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 10_000)).toMatchObject({ ok: true });
    expect((await steeringRules(plane.topo.agent.ns)).join('\n')).not.toContain('--queue-bypass');
    await agent.stop('SIGKILL');
    process.env.PEER_TIMEOUT_MS = '2000';
    try {
      // 8080 is among the selected ports (the rule forwards to it): nothing gets through now.
      expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 8080, 10)).toMatchObject({ ok: false, error: 'timeout' });
    } finally {
      delete process.env.PEER_TIMEOUT_MS;
    }
    // A new agent takes over (cleaning the dead one's rules) and traffic flows again.
    await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS, plane: { failOpen: false } }), 'ready');
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 10_000)).toMatchObject({ ok: true });
  });

  test('realtime: the packet path runs under SCHED_FIFO, the idle agent and its other threads under the normal scheduler', async () => {
    await start(plane.topo.agent.ns, peerArgs('tcp-server', '::', 8080));
    // The userspace path alone, so that the transfer keeps the packet path busy.
    const agent = await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS, plane: { realtime: 1, fastPath: false } }), 'ready');
    const pid = Number((await agent.next('ready')).pid);
    const policies = async () => {
      const text = await sh(plane.topo.agent.ns, `for t in /proc/${pid}/task/*; do echo "\${t##*/} $(chrt -p \${t##*/} | head -1)"; done`);
      return new Map(text.trim().split('\n').map((line) => [Number(line.split(' ')[0]), line]));
    };
    // A sample takes tens of ms (a shell in the namespace) and a fast host moves 20 MB in about as
    // long, so a transfer may end between two samples: up to five transfers, sampled throughout.
    const seen = new Set<string>();
    for (let round = 0; round < 5 && !seen.has('fifo'); round++) {
      const transfer = client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 20_000_000);
      let done = false;
      void transfer.finally(() => (done = true));
      while (!done) {
        const byThread = await policies();
        seen.add(/SCHED_FIFO\|SCHED_RESET_ON_FORK/.test(byThread.get(pid) ?? '') ? 'fifo' : 'other');
        for (const [tid, line] of byThread) if (tid !== pid) expect(line).toMatch(/SCHED_OTHER/);
      }
      expect(await transfer).toMatchObject({ ok: true, bytes: 20_000_000 });
    }
    expect(seen).toContain('fifo');
    // Idle (no packet for nearMs): waiting on the event loop, under the normal scheduler.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await policies()).get(pid)).toMatch(/SCHED_OTHER/);
  });

  test('SIGKILL: traffic passes unmodified (fail-open), a restart cleans the stale rules and forwards again', async () => {
    await start(plane.topo.agent.ns, peerArgs('tcp-server', '::', 8080));
    const first = await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS }), 'ready');
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 10_000)).toMatchObject({ ok: true });
    const installed = await steeringRules(plane.topo.agent.ns);

    await first.stop('SIGKILL');
    // The dead agent's rules are still there …
    expect(await steeringRules(plane.topo.agent.ns)).toEqual(installed);
    // … but with nobody on the queue they let packets through untouched: 8080 answers directly,
    // 80 is no longer forwarded.
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 8080, 10_000)).toMatchObject({ ok: true });
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v6, 8080, 10_000)).toMatchObject({ ok: true });
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 10)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });

    const second = await start(plane.topo.agent.ns, runnerArgs({ rules: [PORT_80_TO_8080], settings: SETTINGS }), 'ready');
    // Exactly one set of rules: the stale jumps and chains were removed before new ones went in.
    expect((await steeringRules(plane.topo.agent.ns)).sort()).toEqual([...installed].sort());
    expect(await client(plane.topo.client.ns, 'tcp-client', plane.topo.agent.client.v4, 80, 10_000)).toMatchObject({ ok: true });

    await second.stop('SIGTERM');
    expect(await second.next('closed')).toBeDefined();
    expect(await steeringRules(plane.topo.agent.ns)).toEqual([]);
  });
});
