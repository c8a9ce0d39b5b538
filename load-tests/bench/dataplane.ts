/**
 * Linux data-plane throughput and latency (issue 6), as root, in namespaces this run creates and
 * removes: client ─ router ─ server over veths (198.18.0.0/15, fd00::/8 only). The same forwarded
 * path is measured four ways in one run:
 *   direct      the client talks to the server's real port (plain routing)
 *   kernel_dnat nftables DNAT of the port forward in the router (conntrack)
 *   portfleet   the agent's engine + Linux data plane in the router doing the same port forward,
 *               with its kernel fast path (issue 11: both directions of a conversation offloaded
 *               to nftables once `--after` packets of a direction (default 1: its first) went
 *               through the engine; `--fastpath 0` measures the userspace path alone), and with
 *               its kernel rules (round 4: a rule that only rewrites the destination runs as
 *               conntrack NAT, first packet included; `--kernel-rules 0` turns them off)
 *   kernel_mangle  the same forward as stateless nftables payload rewrites of untracked packets
 *               (`tcp dport set …`, checksums fixed by the kernel): what a conversation offloaded
 *               to the kernel would run at — the ceiling of issue 11's offload direction
 * iperf3 TCP (Gbit/s, one stream) and UDP (received kpps, 1200-byte datagrams), and TCP connect +
 * 1-byte echo (p50 µs over sequential connections), and connections per second (`--parallel`
 * concurrent loops of connect + 1-byte echo + close for `--seconds`: what installing every new
 * conversation in the kernel costs). Human table on stderr, one JSON line last:
 * The JSON also carries the fast path's counters (`fast`: directions offloaded, ...) read from the
 * agent after the runs, so a figure always says which path produced it.
 * `--rounds N` measures every way N times, rotating the order, and reports medians (a loaded,
 * shared machine otherwise hands one way a quiet minute and another a busy one). `--near` is the
 * plane's `nearMs` (how long after a packet it waits for the next on the main thread; 0: never);
 * `--realtime N` runs the agent's packet path under SCHED_FIFO priority N (the plane's `realtime`).
 *   npm run bench:dataplane [-- --seconds 5 --connections 2000 --streams 1 --fastpath 1 --after 1 --rounds 1 --parallel 8
 *                               --near 1000 --realtime 0 --kernel-rules 1 --measures tcp,udp,latency,rate]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import { benchArgs } from './bench-args';
import { machineLoad, note, printResult, printTable, round } from './bench-output';

const exec = promisify(execFile);
// From the sources (load-tests/bench) or the build (load-tests/dist/bench).
const ROOT = [path.resolve(__dirname, '../..'), path.resolve(__dirname, '../../..')].find((dir) =>
  existsSync(path.join(dir, 'agent/test/dataplane/support/runner.ts')),
)!;
const SUPPORT = path.join(ROOT, 'agent/test/dataplane/support');
const { num, str } = benchArgs({ seconds: 5, connections: 2000, streams: 1, fastpath: 1, after: 1, rounds: 1, parallel: 8, near: 1000, realtime: 0, 'kernel-rules': 1 }, { measures: 'tcp,udp,latency,rate' });
/** Which measures run (`--measures latency,rate`: the others report 0). */
const MEASURES = new Set(str.measures.split(','));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const tag = `b${process.pid % 10000}`;
const NS = { client: `pf${tag}-c`, router: `pf${tag}-r`, server: `pf${tag}-s` };
const SERVER = '198.18.2.2';
/** Ports the client uses: the real service, DNAT'ed to it, forwarded by portfleet. */
const IPERF = { direct: 5201, kernel_dnat: 5202, portfleet: 5203, kernel_mangle: 5204 } as const;
const ECHO = { direct: 7001, kernel_dnat: 7002, portfleet: 7003, kernel_mangle: 7004 } as const;
/**
 * Portfleet forwards to its own instance of each server: its steering leaves the ports it forwards
 * to untracked (CT --notrack), which would take the kernel DNAT's replies out of conntrack too.
 */
const BEHIND_PORTFLEET = { iperf: 5211, echo: 7011 } as const;
/** The stateless kernel rewrite has its own server instances too (its ports are untracked). */
const BEHIND_MANGLE = { iperf: 5221, echo: 7021 } as const;
type Way = keyof typeof IPERF;
const WAYS: Way[] = ['direct', 'kernel_dnat', 'portfleet', 'kernel_mangle'];

async function sh(ns: string, command: string): Promise<string> {
  const { stdout } = await exec('ip', ['netns', 'exec', ns, 'sh', '-c', command], { maxBuffer: 64 << 20 });
  return stdout;
}

async function teardown(): Promise<void> {
  for (const ns of Object.values(NS)) {
    const pids = await exec('ip', ['netns', 'pids', ns]).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}

async function setup(): Promise<void> {
  await teardown();
  for (const ns of Object.values(NS)) await exec('ip', ['netns', 'add', ns]);
  for (const ns of Object.values(NS)) await sh(ns, 'ip link set lo up');
  await sh(NS.router, 'sysctl -qw net.ipv4.ip_forward=1');
  // The connection-rate runs open tens of thousands of connections from one address.
  await sh(NS.client, 'sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"');
  const link = async (peer: string, subnet: number, role: string) => {
    const inRouter = `pf${tag}${role}r`;
    const inPeer = `pf${tag}${role}p`;
    await exec('ip', ['link', 'add', inRouter, 'netns', NS.router, 'type', 'veth', 'peer', 'name', inPeer, 'netns', peer]);
    await sh(NS.router, `ip addr add 198.18.${subnet}.1/24 dev ${inRouter} && ip link set ${inRouter} up`);
    await sh(peer, `ip addr add 198.18.${subnet}.2/24 dev ${inPeer} && ip link set ${inPeer} up && ip route add default via 198.18.${subnet}.1`);
  };
  await link(NS.client, 1, 'c');
  await link(NS.server, 2, 's');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await sh(NS.client, `ping -c1 -W1 ${SERVER} >/dev/null`);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
  // Kernel DNAT of the same forwards (TCP and UDP: iperf3 UDP data uses the control port number).
  await sh(
    NS.router,
    `nft -f - <<'EOF'
table ip pfbench {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ip daddr ${SERVER} tcp dport ${IPERF.kernel_dnat} dnat to ${SERVER}:${IPERF.direct}
    ip daddr ${SERVER} udp dport ${IPERF.kernel_dnat} dnat to ${SERVER}:${IPERF.direct}
    ip daddr ${SERVER} tcp dport ${ECHO.kernel_dnat} dnat to ${SERVER}:${ECHO.direct}
  }
  chain untrack {
    type filter hook prerouting priority raw;
    ip daddr ${SERVER} th dport { ${IPERF.kernel_mangle}, ${ECHO.kernel_mangle} } notrack
    ip saddr ${SERVER} th sport { ${BEHIND_MANGLE.iperf}, ${BEHIND_MANGLE.echo} } notrack
  }
  chain mangle {
    type filter hook prerouting priority mangle;
    ip daddr ${SERVER} tcp dport ${IPERF.kernel_mangle} tcp dport set ${BEHIND_MANGLE.iperf}
    ip daddr ${SERVER} udp dport ${IPERF.kernel_mangle} udp dport set ${BEHIND_MANGLE.iperf}
    ip daddr ${SERVER} tcp dport ${ECHO.kernel_mangle} tcp dport set ${BEHIND_MANGLE.echo}
    ip saddr ${SERVER} tcp sport ${BEHIND_MANGLE.iperf} tcp sport set ${IPERF.kernel_mangle}
    ip saddr ${SERVER} udp sport ${BEHIND_MANGLE.iperf} udp sport set ${IPERF.kernel_mangle}
    ip saddr ${SERVER} tcp sport ${BEHIND_MANGLE.echo} tcp sport set ${ECHO.kernel_mangle}
  }
}
EOF`,
  );
}

function background(ns: string, command: string[], ready?: RegExp): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['pipe', 'pipe', 'pipe'] });
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${command.join(' ')}: not ready; output: ${seen}`)), 30_000);
    const onLine = (line: string) => {
      seen += `${line}\n`;
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    readline.createInterface({ input: child.stdout! }).on('line', onLine);
    readline.createInterface({ input: child.stderr! }).on('line', onLine);
    child.on('exit', (code) => reject(new Error(`${command.join(' ')} exited ${code}: ${seen}`)));
  });
}

function rule(id: string, protocol: 'tcp' | 'udp', from: number, to: number) {
  return { id, enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol, localPort: from }, forwardAs: { localPort: to } };
}

async function iperf(way: Way, udp: boolean): Promise<number> {
  const args = `-c ${SERVER} -p ${IPERF[way]} -t ${num.seconds} -P ${num.streams} -J${udp ? ' -u -b 0 -l 1200' : ''}`;
  for (let attempt = 1; ; attempt++) {
    const text = await sh(NS.client, `iperf3 ${args} || true`);
    const report = JSON.parse(text) as {
      error?: string;
      end: { sum_received?: { bits_per_second: number }; sum?: { packets: number; lost_packets: number; seconds: number } };
    };
    if (report.error) {
      // The one-test-at-a-time server may still be closing the previous test.
      if (/busy/i.test(report.error) && attempt < 10) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      throw new Error(`iperf3 ${args}: ${report.error}`);
    }
    if (!udp) return report.end.sum_received!.bits_per_second / 1e9;
    const sum = report.end.sum!;
    return (sum.packets - sum.lost_packets) / sum.seconds / 1e3;
  }
}

/** Sequential TCP connect + 1-byte echo from the client namespace; p50 in microseconds. */
async function connectEcho(way: Way): Promise<number> {
  const script = `
    const net = require('node:net');
    const times = [];
    const one = () => new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const s = net.connect({ host: '${SERVER}', port: ${ECHO[way]} }, () => s.write('x'));
      s.once('data', () => { times.push(Number(process.hrtime.bigint() - t0) / 1000); s.destroy(); resolve(); });
      s.once('error', reject);
    });
    (async () => {
      for (let i = 0; i < ${num.connections}; i++) await one();
      times.sort((a, b) => a - b);
      console.log(JSON.stringify({ p50: times[Math.floor(times.length / 2)] }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await exec('ip', ['netns', 'exec', NS.client, process.execPath, '-e', script], { maxBuffer: 1 << 20 });
  return (JSON.parse(stdout.trim()) as { p50: number }).p50;
}

/** Connections per second: `--parallel` loops of connect + 1-byte echo + close for `--seconds`. */
async function connectionRate(way: Way): Promise<number> {
  const script = `
    const net = require('node:net');
    const end = Date.now() + ${num.seconds * 1000};
    let done = 0;
    let failed = 0;
    const loop = () => new Promise((resolve) => {
      const next = () => {
        if (Date.now() >= end) return resolve();
        const s = net.connect({ host: '${SERVER}', port: ${ECHO[way]} }, () => s.write('x'));
        // A lost SYN would otherwise wait for the kernel's retries (minutes).
        const timer = setTimeout(() => { failed++; s.destroy(); next(); }, 1000);
        s.once('data', () => { clearTimeout(timer); done++; s.destroy(); next(); });
        s.once('error', () => { clearTimeout(timer); failed++; s.destroy(); next(); });
      };
      next();
    });
    const t0 = Date.now();
    Promise.all(Array.from({ length: ${num.parallel} }, loop)).then(() => console.log(JSON.stringify({ cps: done / ((Date.now() - t0) / 1000), failed })));`;
  const { stdout } = await exec('ip', ['netns', 'exec', NS.client, process.execPath, '-e', script], { maxBuffer: 1 << 20 });
  const { cps, failed } = JSON.parse(stdout.trim()) as { cps: number; failed: number };
  if (failed > 0) note(`connection rate ${way}: ${failed} connections failed`);
  return cps;
}

interface AgentStats {
  fast: Record<string, number> | null;
  kernel: Record<string, number> | null;
  plane: Record<string, number>;
}

/** The runner's counters ("stats" on its stdin, one JSON line back). */
function agentStats(agent: ChildProcess): Promise<AgentStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the agent did not answer "stats"')), 10_000);
    const lines = readline.createInterface({ input: agent.stdout! });
    lines.on('line', (line) => {
      if (!line.includes('"event":"stats"')) return;
      clearTimeout(timer);
      lines.close();
      resolve(JSON.parse(line) as AgentStats);
    });
    agent.stdin!.write('stats\n');
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:dataplane needs root (network namespaces, NFQUEUE, nftables)');
  note(`machine: ${machineLoad()}`);
  await setup();
  const children: ChildProcess[] = [];
  try {
    for (const port of [IPERF.direct, BEHIND_PORTFLEET.iperf, BEHIND_MANGLE.iperf]) {
      children.push(await background(NS.server, ['iperf3', '-s', '-p', String(port), '--forceflush'], /listening/i));
    }
    for (const port of [ECHO.direct, BEHIND_PORTFLEET.echo, BEHIND_MANGLE.echo]) {
      children.push(await background(NS.server, [process.execPath, path.join(SUPPORT, 'peer.js'), 'tcp-server', SERVER, String(port)], /listening/));
    }
    const config = {
      rules: [
        rule('iperf-tcp', 'tcp', IPERF.portfleet, BEHIND_PORTFLEET.iperf),
        rule('iperf-udp', 'udp', IPERF.portfleet, BEHIND_PORTFLEET.iperf),
        rule('echo', 'tcp', ECHO.portfleet, BEHIND_PORTFLEET.echo),
      ],
      settings: { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 },
      plane: { fastPath: num.fastpath ? { after: num.after } : false, nearMs: num.near, realtime: num.realtime, kernelRules: num['kernel-rules'] ? {} : false },
    };
    const agent = await background(NS.router, [process.execPath, '-r', path.join(SUPPORT, 'register-ts.js'), path.join(SUPPORT, 'runner.ts'), JSON.stringify(config)], /"event":"ready"/);
    children.push(agent);
    const tcp = {} as Record<Way, number>;
    const udp = {} as Record<Way, number>;
    const latency = {} as Record<Way, number>;
    const rate = {} as Record<Way, number>;
    // Rounds: every way once per round, starting one further each round, and the median per way,
    // so a burst of load from elsewhere on the machine lands on all ways alike rather than on one.
    const samples = { tcp: new Map<Way, number[]>(), udp: new Map<Way, number[]>(), latency: new Map<Way, number[]>(), rate: new Map<Way, number[]>() };
    const measure = async (kind: keyof typeof samples, run: (way: Way) => Promise<number>) => {
      if (!MEASURES.has(kind)) {
        for (const way of WAYS) samples[kind].set(way, [0]);
        return;
      }
      for (let round = 0; round < num.rounds; round++) {
        for (let k = 0; k < WAYS.length; k++) {
          const way = WAYS[(k + round) % WAYS.length]!;
          note(`${kind} ${way} (round ${round + 1}/${num.rounds})`);
          const list = samples[kind].get(way) ?? [];
          list.push(await run(way));
          samples[kind].set(way, list);
        }
      }
    };
    await measure('tcp', (way) => iperf(way, false));
    await measure('udp', (way) => iperf(way, true));
    await measure('latency', connectEcho);
    await measure('rate', connectionRate);
    for (const way of WAYS) {
      tcp[way] = median(samples.tcp.get(way)!);
      udp[way] = median(samples.udp.get(way)!);
      latency[way] = median(samples.latency.get(way)!);
      rate[way] = median(samples.rate.get(way)!);
    }
    const { fast, plane, kernel } = await agentStats(agent);
    note(`packets that crossed to userspace: ${plane.received}; kernel rules: ${kernel ? `${kernel.compiled} of ${config.rules.length} compiled` : 'off'}`);
    printTable(`data plane, forwarded path, ${num.streams} stream(s), ${num.seconds} s each, median of ${num.rounds}, fast path ${num.fastpath ? `after ${num.after}` : 'off'}, kernel rules ${num['kernel-rules'] ? 'on' : 'off'}${num.realtime ? `, SCHED_FIFO ${num.realtime}` : ''}, ${num.parallel} parallel (${machineLoad()})`, [
      ...WAYS.map((w): [string, number] => [`TCP Gbit/s ${w}`, round(tcp[w], 2)]),
      ...WAYS.map((w): [string, number] => [`UDP kpps ${w}`, round(udp[w], 1)]),
      ...WAYS.map((w): [string, number] => [`connect+echo p50 µs ${w}`, round(latency[w], 0)]),
      ...WAYS.map((w): [string, number] => [`connections/s ${w}`, round(rate[w], 0)]),
    ]);
    printResult({
      tcp_gbps: Object.fromEntries(WAYS.map((w) => [w, round(tcp[w], 3)])),
      udp_kpps: Object.fromEntries(WAYS.map((w) => [w, round(udp[w], 1)])),
      connect_echo_p50_us: Object.fromEntries(WAYS.map((w) => [w, round(latency[w], 0)])),
      connections_per_s: Object.fromEntries(WAYS.map((w) => [w, round(rate[w], 0)])),
      tcp_ratio: round(tcp.portfleet / tcp.kernel_dnat, 3),
      udp_ratio: round(udp.portfleet / udp.kernel_dnat, 3),
      latency_ratio: round(latency.portfleet / latency.kernel_dnat, 3),
      rate_ratio: round(rate.portfleet / rate.kernel_dnat, 3),
      // What a kernel offload of established conversations could reach (same run, same path).
      mangle_tcp_ratio: round(tcp.kernel_mangle / tcp.kernel_dnat, 3),
      mangle_udp_ratio: round(udp.kernel_mangle / udp.kernel_dnat, 3),
      mangle_latency_ratio: round(latency.kernel_mangle / latency.kernel_dnat, 3),
      fast,
      kernel,
      // Packets that crossed to userspace over the whole run (all ways share the router).
      userspace_packets: plane.received,
    } as unknown as Record<string, number>);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await teardown();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:dataplane failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
