/**
 * Kernel rules (docs/linux-dataplane.md "Kernel rules (round 4)"): which rules the kernel can run
 * as conntrack NAT with the engine's semantics, and the nftables text that does it.
 *
 * A rule is compiled only when its translation of a first packet is a destination rewrite (what
 * `dnat` does) and no packet it can see could also concern an enabled rule left in userspace:
 * then the two paths never compete for a packet, the kernel rules keep the list's order among
 * themselves, and conntrack's NAT binding of a connection is the engine's conversation (same
 * translation forward, exact inverse back, kept across rule changes). Traffic between two
 * local addresses stays in userspace (the loopback lane: its conversations have their own
 * semantics in the engine); steering keeps queueing that part only.
 *
 * The table `inet portfleet_rules` is rewritten as one nft transaction per apply: chains flushed
 * and filled again, counters added (never reset: `add counter` leaves an existing one as it is).
 * Each compiled rule has a number (its slot, kept per rule id for the plane's life): the NAT rule
 * sets `ct mark` to the slot and counts the new conversation; the counting chains at input,
 * forward and output (every tracked packet passes exactly one of them) count each direction
 * through one map from ct mark and direction to the counter.
 */
import type { Rule } from '@portfleet/proto';
import { parseAddressWords } from '../../packet/address-text';
import { familyAddresses, type Family } from './rule-addresses';

export const RULES_TABLE = 'portfleet_rules';
const TABLE = `inet ${RULES_TABLE}`;
/** ct mark of a compiled rule's conversations: this | slot (slot 1..0xffff). */
export const DEFAULT_CT_MARK_BASE = 0x5047_0000;
const NAT_PRIORITY = -100;
const COUNT_PRIORITY = 0;


/** One orientation of traffic a rule concerns: source and destination ends (null address: any). */
interface Flow {
  /** From the rule's local end to its remote end. */
  fromLocal: boolean;
  protocol: string;
  src: string[] | null;
  dst: string[] | null;
  sport: number | undefined;
  dport: number | undefined;
}

/** Why a rule cannot be compiled by itself (before overlaps), or null. */
export function ineligible(rule: Rule): string | null {
  const s = rule.selector;
  const f = rule.forwardAs;
  if (!rule.enabled) return 'disabled';
  if (s.protocol !== 'tcp' && s.protocol !== 'udp') return 'protocol';
  if (f.clone || (f.reflection ?? 'none') !== 'none' || f.adapter !== undefined || f.localMac !== undefined || f.remoteMac !== undefined) return 'needs userspace per packet';
  if (s.adapter !== undefined || s.localMac !== undefined || s.remoteMac !== undefined) return 'selector beyond addresses and ports';
  // The first packet's destination is the local end inbound, the remote end outbound: only it may change.
  const inbound = s.direction === 'inbound';
  const destination = inbound ? { port: f.localPort, address: f.localAddress } : { port: f.remotePort, address: f.remoteAddress };
  const source = inbound ? { port: f.remotePort, address: f.remoteAddress } : { port: f.localPort, address: f.localAddress };
  if (source.port !== undefined || source.address !== undefined) return 'rewrites the source';
  if (destination.port === undefined && destination.address === undefined) return 'rewrites nothing';
  return null;
}

function canonical(address: string): string {
  const words = parseAddressWords(address);
  return words ? `${words.family}:${Array.from(words.words).join('.')}` : address;
}

/**
 * Every flow a rule concerns in one family, as steering sees it: the selected ends and the
 * forwarded-to ends, both orientations. Empty when the rule cannot apply in that family.
 */
function flows(family: Family, rule: Rule, resolved: ReadonlyMap<string, string[]>): Flow[] {
  const s = rule.selector;
  const f = rule.forwardAs;
  const sel = { local: familyAddresses(family, s.localAddress, resolved, 'all'), remote: familyAddresses(family, s.remoteAddress, resolved, 'all') };
  const fwd = {
    local: f.localAddress !== undefined ? familyAddresses(family, f.localAddress, resolved, 'first') : sel.local,
    remote: f.remoteAddress !== undefined ? familyAddresses(family, f.remoteAddress, resolved, 'first') : sel.remote,
  };
  const out: Flow[] = [];
  for (const [ends, ports] of [
    [sel, { local: s.localPort, remote: s.remotePort }],
    [fwd, { local: f.localPort ?? s.localPort, remote: f.remotePort ?? s.remotePort }],
  ] as const) {
    if (ends.local?.length === 0 || ends.remote?.length === 0) continue;
    out.push({ fromLocal: true, protocol: s.protocol, src: ends.local, dst: ends.remote, sport: ports.local, dport: ports.remote });
    out.push({ fromLocal: false, protocol: s.protocol, src: ends.remote, dst: ends.local, sport: ports.remote, dport: ports.local });
  }
  return out;
}

const meets = (a: string[] | null, b: string[] | null) => a === null || b === null || a.some((x) => b.some((y) => canonical(x) === canonical(y)));
const portsMeet = (a: number | undefined, b: number | undefined) => a === undefined || b === undefined || a === b;

function overlap(a: Flow, b: Flow): boolean {
  return a.protocol === b.protocol && meets(a.src, b.src) && meets(a.dst, b.dst) && portsMeet(a.sport, b.sport) && portsMeet(a.dport, b.dport);
}

/**
 * Indexes of the rules the kernel runs: eligible, and no flow of theirs (either family) can be a
 * flow of an enabled rule that stays in userspace — then neither the steering of that rule
 * (notrack, queue, the forwarded-direction mark) nor its place in the list can touch their
 * packets. Among themselves the kernel rules keep the list's order and the engine's idea of a
 * forwarded packet's direction (see `rulesScript`). Leaving one rule in userspace can make
 * another overlap it: repeated until nothing changes.
 */
export function compiledRules(rules: Rule[], resolved: ReadonlyMap<string, string[]>): Set<number> {
  const flowsOf = rules.map((r) => (r.enabled ? [...flows(4, r, resolved), ...flows(6, r, resolved)] : []));
  const out = new Set<number>();
  rules.forEach((rule, i) => ineligible(rule) === null && out.add(i));
  for (let changed = true; changed; ) {
    changed = false;
    for (const i of out) {
      const mine = flowsOf[i]!;
      const meetsUserspace = flowsOf.some((theirs, j) => !out.has(j) && mine.some((a) => theirs.some((b) => overlap(a, b))));
      if (meetsUserspace) {
        out.delete(i);
        changed = true;
      }
    }
  }
  return out;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Counter names of slot n: new conversations, original-direction and reply-direction packets. */
export function counterNames(slot: number): { created: string; original: string; reply: string } {
  return { created: `r${slot}n`, original: `r${slot}o`, reply: `r${slot}r` };
}

function set(list: string[]): string {
  return list.length === 1 ? list[0]! : `{ ${list.join(', ')} }`;
}

/** The nft match of a flow (selector addresses as given resolved; ports by `th`). */
function match(family: Family, protocol: string, src: string[] | null, dst: string[] | null, sport: number | undefined, dport: number | undefined): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  const parts = [`meta nfproto ipv${family}`, `meta l4proto ${protocol}`];
  if (src) parts.push(`${ip} saddr ${set(src)}`);
  if (dst) parts.push(`${ip} daddr ${set(dst)}`);
  if (sport !== undefined) parts.push(`th sport ${sport}`);
  if (dport !== undefined) parts.push(`th dport ${dport}`);
  return parts.join(' ');
}

export interface CompiledRule {
  rule: Rule;
  slot: number;
}

/** The engine's inactivity timeouts (rule settings), in seconds. */
export interface Timeouts {
  tcpS: number;
  udpS: number;
}

/**
 * Conntrack timeout policy of a protocol and family: the engine's inactivity timeout for a live
 * conversation (TCP established, UDP either way); TCP's opening and closing states keep the
 * kernel's defaults (the engine has no such states: see the docs). Named by value, as an
 * existing object is not changed by `add`.
 */
function timeoutPolicy(protocol: 'tcp' | 'udp', family: Family, t: Timeouts): { name: string; text: string } {
  const seconds = protocol === 'tcp' ? t.tcpS : t.udpS;
  const name = `${protocol}${family}_${seconds}`;
  const policy = protocol === 'tcp' ? `established: ${seconds}` : `unreplied: ${seconds}, replied: ${seconds}`;
  return { name, text: `{ protocol ${protocol}; l3proto ${family === 4 ? 'ip' : 'ip6'}; policy = { ${policy} }; }` };
}

/**
 * The NAT statements of one compiled rule, per family: `first` matches its first packets,
 * `nat` marks the conversation with the rule's slot, counts it and rewrites the destination.
 */
export function natRules(c: CompiledRule, resolved: ReadonlyMap<string, string[]>, ctMarkBase: number): string[] {
  return firstPackets(c, resolved, ctMarkBase).map((f) => `${f.first} ${f.nat}`);
}

interface FirstPackets {
  family: Family;
  first: string;
  nat: string;
}

function firstPackets(c: CompiledRule, resolved: ReadonlyMap<string, string[]>, ctMarkBase: number): FirstPackets[] {
  const { rule, slot } = c;
  const s = rule.selector;
  const f = rule.forwardAs;
  const inbound = s.direction === 'inbound';
  const out: FirstPackets[] = [];
  for (const family of [4, 6] as const) {
    const local = familyAddresses(family, s.localAddress, resolved, 'all');
    const remote = familyAddresses(family, s.remoteAddress, resolved, 'all');
    const toAddress = familyAddresses(family, inbound ? f.localAddress : f.remoteAddress, resolved, 'first');
    if (local?.length === 0 || remote?.length === 0 || toAddress?.length === 0) continue;
    const toPort = inbound ? f.localPort : f.remotePort;
    const ip = family === 4 ? 'ip' : 'ip6';
    // No address given: the packet's own (the port alone changes).
    const target = toAddress
      ? `${family === 6 && toPort !== undefined ? `[${toAddress[0]}]` : toAddress[0]}${toPort !== undefined ? `:${toPort}` : ''}`
      : `${ip} daddr : ${toPort}`;
    const first = inbound
      ? match(family, s.protocol, remote, local, s.remotePort, s.localPort)
      : match(family, s.protocol, local, remote, s.localPort, s.remotePort);
    out.push({ family, first, nat: `ct mark set ${hex(ctMarkBase | slot)} counter name "${counterNames(slot).created}" dnat ${ip} to ${target}` });
  }
  return out;
}

/** nft matches of the rule's flows from its local end (what steering marks outbound when forwarded). */
function fromLocalMatches(rule: Rule, resolved: ReadonlyMap<string, string[]>): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    for (const f of flows(family, rule, resolved)) if (f.fromLocal) out.push(match(family, f.protocol, f.src, f.dst, f.sport, f.dport));
  }
  return [...new Set(out)];
}

/**
 * The transaction of one apply: the table and its chains (created if missing), a counter trio
 * for every slot ever used (`slots`, kept so conversations of a rule removed since are still
 * counted), chains flushed and refilled. The NAT chains reproduce the engine's choice of rule:
 *   natout (what this host sends: outbound) — the outbound rules in list order;
 *   dstnat (arriving) — a forwarded packet matching any kernel rule's flow from its local end is
 *     outbound (steering's mark in userspace): `classify` sends it to `forwarded_out`, the
 *     outbound rules in list order, and ends there; anything else meets the inbound rules.
 * (Userspace rules' flows meet none of these, so they need not be looked at.)
 */
export function rulesScript(compiled: CompiledRule[], slots: readonly number[], resolved: ReadonlyMap<string, string[]>, ctMarkBase: number, timeouts: Timeouts): string {
  const lines = [`add table ${TABLE}`];
  lines.push(`add chain ${TABLE} dstnat { type nat hook prerouting priority ${NAT_PRIORITY}; policy accept; }`);
  lines.push(`add chain ${TABLE} natout { type nat hook output priority ${NAT_PRIORITY}; policy accept; }`);
  lines.push(`add chain ${TABLE} classify`, `add chain ${TABLE} forwarded_out`);
  for (const protocol of ['tcp', 'udp'] as const) {
    for (const family of [4, 6] as const) {
      const p = timeoutPolicy(protocol, family, timeouts);
      lines.push(`add ct timeout ${TABLE} ${p.name} ${p.text}`);
    }
  }
  for (const hook of ['input', 'forward', 'output']) {
    lines.push(`add chain ${TABLE} count_${hook} { type filter hook ${hook} priority ${COUNT_PRIORITY}; policy accept; }`);
  }
  for (const slot of slots) for (const name of Object.values(counterNames(slot))) lines.push(`add counter ${TABLE} ${name}`);
  // Counting costs every tracked packet one map lookup: its conversation's ct mark and direction → counter.
  lines.push(`add map ${TABLE} counters { type mark . ct_dir : counter; }`);
  if (slots.length > 0) {
    const elements = slots.flatMap((slot) => {
      const names = counterNames(slot);
      return [`${hex(ctMarkBase | slot)} . original : "${names.original}"`, `${hex(ctMarkBase | slot)} . reply : "${names.reply}"`];
    });
    lines.push(`add element ${TABLE} counters { ${elements.join(', ')} }`);
  }
  const chains = ['dstnat', 'natout', 'classify', 'forwarded_out', 'count_input', 'count_forward', 'count_output'];
  for (const chain of chains) lines.push(`flush chain ${TABLE} ${chain}`);
  const rule = (chain: string, text: string) => lines.push(`add rule ${TABLE} ${chain} ${text}`);
  // Traffic between two local addresses is the loopback lane's (see the header): it arrives on,
  // and is routed to, the loopback device. (Cheap tests first: these chains see every new
  // connection of the host, and a route lookup costs more than a few compares.)
  rule('dstnat', 'iif lo return');
  rule('natout', 'oif lo return');
  rule('dstnat', 'jump classify');
  for (const c of compiled) for (const m of fromLocalMatches(c.rule, resolved)) rule('classify', `${m} fib daddr type != local goto forwarded_out`);
  for (const c of compiled) {
    const outbound = c.rule.selector.direction === 'outbound';
    for (const { family, first, nat } of firstPackets(c, resolved, ctMarkBase)) {
      // The new connection (unconfirmed: its first packet) gets the engine's timeout; conntrack
      // already timed that packet by its defaults, every later one by this policy.
      const text = `${first} ct timeout set "${timeoutPolicy(c.rule.selector.protocol, family, timeouts).name}" ${nat}`;
      if (outbound) {
        rule('natout', text);
        rule('forwarded_out', text);
      } else {
        rule('dstnat', text);
      }
    }
  }
  // No outbound rule took it: no NAT (the inbound rules are not for it).
  rule('forwarded_out', 'accept');
  for (const hook of ['input', 'forward', 'output']) rule(`count_${hook}`, 'counter name ct mark . ct direction map @counters');
  return `${lines.join('\n')}\n`;
}

export function deleteRulesTableScript(): string {
  return `add table ${TABLE}\ndelete table ${TABLE}\n`;
}
