/**
 * Network namespaces for the data-plane suites: client ─ agent ─ server, plus a monitor hanging
 * off the agent. Addresses only inside them (198.18.0.0/15, fd00::/8). The agent namespace routes
 * between the others, so forwarded and local traffic both pass it.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import { describeWhenAble } from '../../support/describe-when-able';

const exec = promisify(execFile);
const SUPPORT = __dirname;
const ROOT = path.resolve(SUPPORT, '../../../..');

export const REQUIRED_TOOLS = ['ip', 'ping', 'iptables-nft', 'ip6tables-nft', 'iptables-nft-restore', 'ip6tables-nft-restore', 'nft'];

/** Why these suites cannot run here, or null. Under CI=true they must run: callers fail instead. */
export function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'the Linux data plane needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, NFQUEUE, iptables)';
  const missing = REQUIRED_TOOLS.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (apt-get install iproute2 iputils-ping iptables nftables)`;
  return null;
}

/** The data-plane suites' `describe`: skipped with the reason locally, failing under CI. */
export function describeDataPlane(name: string, body: () => void): void {
  describeWhenAble(name, cannotRun(), body);
}

export interface Host {
  ns: string;
  v4: string;
  v6: string;
}

export interface Topology {
  client: Host;
  server: Host;
  monitor: Host;
  /** The agent's address on each link. */
  agent: { ns: string; client: Host; server: Host; monitor: Host; monitorLink: string };
  names: string[];
}

export async function sh(ns: string, command: string): Promise<string> {
  const { stdout } = await exec('ip', ['netns', 'exec', ns, 'sh', '-c', command], { maxBuffer: 16 << 20 });
  return stdout;
}

async function ip(...args: string[]): Promise<void> {
  await exec('ip', args);
}

export async function createTopology(tag: string): Promise<Topology> {
  const n = (role: string) => `pf${tag}-${role}`;
  const agentNs = n('a');
  const links = [
    { role: 'c', subnet: 1 },
    { role: 's', subnet: 2 },
    { role: 'm', subnet: 3 },
  ];
  const names = [agentNs, ...links.map((l) => n(l.role))];
  await destroyTopology(names);
  for (const name of names) {
    await ip('netns', 'add', name);
    await sh(name, 'ip link set lo up; sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0');
  }
  await sh(agentNs, 'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1');
  for (const { role, subnet } of links) {
    const peer = n(role);
    const inAgent = `pf${tag}${role}a`;
    const inPeer = `pf${tag}${role}p`;
    await ip('link', 'add', inAgent, 'netns', agentNs, 'type', 'veth', 'peer', 'name', inPeer, 'netns', peer);
    await sh(agentNs, `ip addr add 198.18.${subnet}.1/24 dev ${inAgent} && ip addr add fd00:${subnet}::1/64 dev ${inAgent} nodad && ip link set ${inAgent} up && sysctl -qw net.ipv4.conf.${inAgent}.rp_filter=0`);
    await sh(
      peer,
      `ip addr add 198.18.${subnet}.2/24 dev ${inPeer} && ip addr add fd00:${subnet}::2/64 dev ${inPeer} nodad && ip link set ${inPeer} up && ` +
        `ip route add default via 198.18.${subnet}.1 && ip -6 route add default via fd00:${subnet}::1 && sysctl -qw net.ipv4.conf.${inPeer}.rp_filter=0`,
    );
  }
  const host = (ns: string, subnet: number, last: number): Host => ({ ns, v4: `198.18.${subnet}.${last}`, v6: `fd00:${subnet}::${last}` });
  const topology: Topology = {
    client: host(n('c'), 1, 2),
    server: host(n('s'), 2, 2),
    monitor: host(n('m'), 3, 2),
    agent: { ns: agentNs, client: host(agentNs, 1, 1), server: host(agentNs, 2, 1), monitor: host(agentNs, 3, 1), monitorLink: `pf${tag}ma` },
    names,
  };
  // Ready when pings cross the agent both ways, in both families.
  for (const from of [topology.client, topology.server, topology.monitor]) {
    await waitFor(async () => {
      await sh(from.ns, `ping -c1 -W1 ${topology.client.v4} >/dev/null && ping -c1 -W1 ${topology.server.v4} >/dev/null`);
      await sh(from.ns, `ping -6 -c1 -W1 ${topology.client.v6} >/dev/null && ping -6 -c1 -W1 ${topology.server.v6} >/dev/null`);
    }, 10_000);
  }
  return topology;
}

export async function destroyTopology(names: string[]): Promise<void> {
  for (const name of names) {
    await exec('ip', ['netns', 'pids', name]).then(
      async ({ stdout }) => {
        for (const pid of stdout.split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
      () => undefined,
    );
    await exec('ip', ['netns', 'del', name]).catch(() => undefined);
    rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  }
}

/** Name → addresses for programs in `ns` (ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts). */
export function setHosts(ns: string, entries: [string, string][]): void {
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/hosts`, entries.map(([address, name]) => `${address} ${name}`).join('\n') + '\n');
}

export async function waitFor(check: () => Promise<unknown>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A long-running process in a namespace that talks JSON lines on stdout. */
/**
 * Wait for a child to be up. A runner compiles the agent through SWC and loads koffi before it
 * binds its queues: over 20 s was seen at load average 15 on 2 cores.
 */
export const STARTUP_MS = 45_000;

export class NsProcess {
  readonly child: ChildProcess;
  private readonly lines: Record<string, unknown>[] = [];
  private readonly waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  stderr = '';
  /** Every stdout line as text (for programs that do not speak JSON). */
  readonly text: string[] = [];
  private exited: Promise<number | null>;

  constructor(ns: string, args: string[]) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.text.push(line);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      this.lines.push(message);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** The next (or an earlier) message with `event`; rejects if the process exits or time runs out. */
  next(event: string, ms = 20_000): Promise<Record<string, unknown>> {
    const seen = this.lines.find((m) => m.event === event);
    if (seen && event !== 'stats') return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms; stderr: ${this.stderr}; lines: ${JSON.stringify(this.lines)}`)), ms);
      const waiter = {
        match: (m: Record<string, unknown>) => m.event === event || m.event === 'failed',
        resolve: (m: Record<string, unknown>) => {
          clearTimeout(timer);
          if (m.event === 'failed' && event !== 'failed') reject(new Error(`process failed: ${String(m.message)}`));
          else resolve(m);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then((code) => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          reject(new Error(`process exited (${code}) before "${event}"; stderr: ${this.stderr}`));
        }
      });
    });
  }

  /** Waits until a stdout line matches `pattern`. */
  async line(pattern: RegExp, ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.text.find((l) => pattern.test(l));
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before ${pattern}; stdout: ${this.text.join('\n')}; stderr: ${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms; stdout: ${this.text.join('\n')}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  all(event: string): Record<string, unknown>[] {
    return this.lines.filter((m) => m.event === event);
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

export function runnerArgs(config: object): string[] {
  return ['-r', path.join(SUPPORT, 'register-ts.js'), path.join(SUPPORT, 'runner.ts'), JSON.stringify(config)];
}

export function peerArgs(...args: (string | number)[]): string[] {
  return [path.join(SUPPORT, 'peer.js'), ...args.map(String)];
}

/** Runs a peer client to completion in `ns` and returns its JSON result. */
export async function client(ns: string, ...args: (string | number)[]): Promise<Record<string, unknown>> {
  const result = await exec('ip', ['netns', 'exec', ns, process.execPath, ...peerArgs(...args)]).then(
    (r) => r.stdout,
    (error: { stdout?: string; stderr?: string; message?: string }) =>
      error.stdout || JSON.stringify({ ok: false, error: `${error.message ?? 'failed'}; stderr: ${error.stderr ?? ''}` }),
  );
  const parsed = JSON.parse(result.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  // Failures are sometimes the point of a test; either way the whole answer helps when one is not.
  if (parsed.ok !== true) process.stderr.write(`peer client in ${ns} ${args.join(' ')}: ${JSON.stringify(parsed)}\n`);
  return parsed;
}
