/**
 * Which packets the kernel hands to the agent: iptables-nft rules (the nft `queue` statement is
 * not built into every kernel; the xt NFQUEUE target is) in chains of our own, jumped to from
 * PREROUTING (everything arriving, forwarded too) and OUTPUT (everything this host sends):
 *   mangle PORTFLEET: injected packets (our mark) pass; the rule list's traffic → NFQUEUE
 *   raw PORTFLEET:    the same traffic → CT --notrack, both directions, because conntrack would
 *                     otherwise call rewritten packets INVALID on hosts that drop those.
 * The match is a superset of what the engine needs: for every enabled rule the ends it selects and
 * the ends it forwards to, in both orientations (replies, reflected and cloned copies), so every
 * packet of every conversation in either direction reaches the engine; the engine accepts the rest
 * unchanged.
 * Forwarded packets (neither end is this host) all arrive in PREROUTING, both directions alike; the
 * rule says which end is local, so a forwarded packet travelling from a rule's local end to its
 * remote end gets the `outboundMark` bit, which the data plane reads (NFQA_MARK) as "outbound";
 * every forwarded packet gets `forwardedMark` (it will leave through a device, see linux.ts).
 * The jumps carry the comment `portfleet`, so a restart after a crash finds and removes
 * what the crashed agent left.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Rule } from '@portfleet/proto';
import { familyAddresses, type Family } from './rule-addresses';

const execFileAsync = promisify(execFile);

/** Runs an iptables tool; a missing tool is named with the package that brings it. */
async function run(tool: string, args: string[]): Promise<{ stdout: string }> {
  try {
    return await execFileAsync(tool, args);
  } catch (error) {
    throw missingTool(tool, error);
  }
}

function missingTool(tool: string, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
  return new Error(`${tool} not found: the Linux data plane steers packets with iptables-nft (Debian/Ubuntu package "iptables")`);
}

export const STEERING_CHAIN = 'PORTFLEET';
export const STEERING_COMMENT = 'portfleet';
const TABLES = ['raw', 'mangle'] as const;
/** MSS for TCP between two local addresses (see `steeringScript`). */
const LOOPBACK_MSS = 65000;
const HOOKS = ['PREROUTING', 'OUTPUT'] as const;

export interface SteeringOptions {
  queueNum: number;
  /** Queue for traffic between two local addresses (its GSO packets must be cut before queueing). */
  loopbackQueueNum: number;
  /** SO_MARK bit(s) of injected packets: they skip the queue (but are still untracked). */
  mark: number;
  /** Mark bit set on forwarded packets that go from a rule's local end to its remote end. */
  outboundMark: number;
  /** Mark bit set on every forwarded packet (neither address local). */
  forwardedMark: number;
  /**
   * Fail-open (`--queue-bypass`): with no agent listening the packets pass unmodified. Without it
   * they are dropped while the agent is down (fail-closed).
   */
  failOpen: boolean;
}


interface End {
  addresses: string[] | null;
  port: number | undefined;
}

/** The iptables-restore text that fills our chains for one family (empty chains when no rules). */
export function steeringScript(
  family: Family,
  rules: Rule[],
  resolved: ReadonlyMap<string, string[]>,
  options: SteeringOptions,
  kernelRules: ReadonlySet<number> = new Set(),
): string {
  const matches = new Set<string>();
  const localToRemote = new Set<string>();
  // Rules the kernel runs as NAT (kernel-rules-nft.ts) keep only their traffic between two local
  // addresses here: the rest must be neither untracked (conntrack does their NAT) nor queued.
  const loopbackOnly = new Set<string>();
  rules.forEach((rule, index) => {
    if (!rule.enabled) return;
    for (const { match, fromLocal } of ruleMatches(family, rule, resolved)) {
      if (kernelRules.has(index)) {
        loopbackOnly.add(match);
        continue;
      }
      matches.add(match);
      if (fromLocal) localToRemote.add(match);
    }
  });
  for (const m of matches) loopbackOnly.delete(m);
  const bypass = options.failOpen ? ' --queue-bypass' : '';
  const queue = `-j NFQUEUE --queue-num ${options.queueNum}${bypass}`;
  const loopback = '-m addrtype --src-type LOCAL --dst-type LOCAL';
  const hex = (n: number) => `0x${n.toString(16)}`;
  const lines: string[] = [];
  lines.push('*raw', `:${STEERING_CHAIN} - [0:0]`);
  for (const m of matches) lines.push(`-A ${STEERING_CHAIN} ${m} -j CT --notrack`);
  for (const m of loopbackOnly) lines.push(`-A ${STEERING_CHAIN} ${loopback} ${m} -j CT --notrack`);
  lines.push('COMMIT', '*mangle', `:${STEERING_CHAIN} - [0:0]`);
  if (matches.size + loopbackOnly.size > 0) lines.push(`-A ${STEERING_CHAIN} -m mark --mark ${hex(options.mark)}/${hex(options.mark)} -j RETURN`);
  // Over loopback (MTU 64 KiB) a full TCP segment, or a GSO super-packet, can exceed what one
  // netlink attribute carries (~65531 bytes) and arrive capped, which can only be passed untouched:
  // loopback traffic goes to a queue where the kernel cuts super-packets into segments, and its
  // segments are kept below the limit.
  for (const m of [...matches, ...loopbackOnly]) {
    if (!m.startsWith('-p tcp ')) continue;
    lines.push(`-A ${STEERING_CHAIN} ${loopback} ${m} --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${LOOPBACK_MSS}`);
  }
  for (const m of matches) {
    const bits = options.forwardedMark | (localToRemote.has(m) ? options.outboundMark : 0);
    lines.push(`-A ${STEERING_CHAIN} -m addrtype ! --src-type LOCAL ! --dst-type LOCAL ${m} -j MARK --or-mark ${hex(bits)}`);
  }
  for (const m of [...matches, ...loopbackOnly]) lines.push(`-A ${STEERING_CHAIN} ${loopback} ${m} -j NFQUEUE --queue-num ${options.loopbackQueueNum}${bypass}`);
  for (const m of matches) lines.push(`-A ${STEERING_CHAIN} ${m} ${queue}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * iptables match expressions (without target) for one rule in one family, none if it cannot apply;
 * `fromLocal`: the packet goes from the rule's local end to its remote end.
 */
export function ruleMatches(family: Family, rule: Rule, resolved: ReadonlyMap<string, string[]>): { match: string; fromLocal: boolean }[] {
  const s = rule.selector;
  const f = rule.forwardAs;
  const selected: { local: End; remote: End } = {
    local: { addresses: familyAddresses(family, s.localAddress, resolved, 'all'), port: s.localPort },
    remote: { addresses: familyAddresses(family, s.remoteAddress, resolved, 'all'), port: s.remotePort },
  };
  const forwarded: { local: End; remote: End } = {
    local: {
      addresses: f.localAddress !== undefined ? familyAddresses(family, f.localAddress, resolved, 'first') : selected.local.addresses,
      port: f.localPort ?? s.localPort,
    },
    remote: {
      addresses: f.remoteAddress !== undefined ? familyAddresses(family, f.remoteAddress, resolved, 'first') : selected.remote.addresses,
      port: f.remotePort ?? s.remotePort,
    },
  };
  const out: { match: string; fromLocal: boolean }[] = [];
  for (const ends of [selected, forwarded]) {
    // An end named only in the other family (an IPv4-only address) leaves nothing in this one.
    if ((ends.local.addresses?.length ?? 1) === 0 || (ends.remote.addresses?.length ?? 1) === 0) continue;
    out.push({ match: match(rule.selector.protocol, ends.local, ends.remote), fromLocal: true });
    out.push({ match: match(rule.selector.protocol, ends.remote, ends.local), fromLocal: false });
  }
  return out;
}

function match(protocol: string, source: End, destination: End): string {
  const parts = [`-p ${protocol}`];
  if (source.addresses) parts.push(`-s ${source.addresses.join(',')}`);
  if (destination.addresses) parts.push(`-d ${destination.addresses.join(',')}`);
  parts.push(`-m ${protocol}`);
  if (source.port !== undefined) parts.push(`--sport ${source.port}`);
  if (destination.port !== undefined) parts.push(`--dport ${destination.port}`);
  return parts.join(' ');
}

/** Runs iptables-nft / ip6tables-nft (the nf_tables flavour: it coexists with native nft rules). */
export class Steering {
  private installed = false;

  constructor(private readonly options: SteeringOptions) {}

  static tool(family: Family): string {
    return family === 4 ? 'iptables-nft' : 'ip6tables-nft';
  }

  /** Removes what any earlier run left (jumps tagged with our comment, our chains). */
  async cleanStale(): Promise<number> {
    let removed = 0;
    for (const family of [4, 6] as const) {
      const tool = Steering.tool(family);
      for (const table of TABLES) {
        for (const hook of HOOKS) {
          const { stdout } = await run(tool, ['-w', '-t', table, '-S', hook]);
          for (const line of stdout.split('\n')) {
            if (!line.startsWith(`-A ${hook} `) || !line.includes(`--comment ${STEERING_COMMENT}`)) continue;
            await run(tool, ['-w', '-t', table, '-D', ...line.slice(3).trim().split(/\s+/)]);
            removed++;
          }
        }
        const exists = await run(tool, ['-w', '-t', table, '-S', STEERING_CHAIN]).then(() => true, () => false);
        if (exists) {
          await run(tool, ['-w', '-t', table, '-F', STEERING_CHAIN]);
          await run(tool, ['-w', '-t', table, '-X', STEERING_CHAIN]);
          removed++;
        }
      }
    }
    return removed;
  }

  /** Creates our (empty) chains and the jumps to them, first in each hook. */
  async install(): Promise<void> {
    for (const family of [4, 6] as const) {
      await this.restore(family, steeringScript(family, [], new Map(), this.options));
      const tool = Steering.tool(family);
      for (const table of TABLES) {
        for (const hook of HOOKS) {
          await run(tool, ['-w', '-t', table, '-I', hook, '1', '-m', 'comment', '--comment', STEERING_COMMENT, '-j', STEERING_CHAIN]);
        }
      }
    }
    this.installed = true;
  }

  /** Replaces the contents of our chains (atomically per family and table set). */
  async apply(rules: Rule[], resolved: ReadonlyMap<string, string[]>, kernelRules: ReadonlySet<number> = new Set()): Promise<void> {
    for (const family of [4, 6] as const) await this.restore(family, steeringScript(family, rules, resolved, this.options, kernelRules));
  }

  async remove(): Promise<void> {
    if (!this.installed) return;
    await this.cleanStale();
    this.installed = false;
  }

  private async restore(family: Family, script: string): Promise<void> {
    const tool = `${Steering.tool(family)}-restore`;
    await new Promise<void>((resolve, reject) => {
      const child = execFile(tool, ['--noflush'], (error, _stdout, stderr) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(missingTool(tool, error));
        else if (error) reject(new Error(`${tool} failed: ${stderr.trim() || error.message}\n${script}`));
        else resolve();
      });
      child.stdin?.end(script);
    });
  }
}
