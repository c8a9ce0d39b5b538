/**
 * The fast path's nftables table (docs/linux-dataplane.md "Fast path"), written once as nft text
 * (elements come and go, and their counters are read, over netlink: fast-path-netlink.ts): a table of our own,
 * `inet portfleet_fast`, with
 *   - per hook (prerouting, output), family and protocol a map "arriving tuple → mark": a hit sets
 *     the mark (our injection mark | the entry's number), counts the packet on the element and
 *     jumps to `rewrite`; the mark makes our iptables mangle chain return the packet unqueued, as
 *     it does for injected packets. Elements carry the protocol's inactivity timeout, refreshed
 *     by the agent while their counters move (so a crashed agent's entries end by themselves);
 *   - `rewrite`: first, a TCP FIN or RST puts its mark into the set `fins` or `rsts` (read and
 *     emptied by the agent with the counters: that is how it learns a conversation ended, without
 *     the packet leaving the kernel); then one map per field (source/destination address,
 *     source/destination port) from the mark to the value the engine wrote; an entry has elements
 *     only for the fields it changes.
 * Chains run at priority -250: after the raw table's notrack (-300), before conntrack (-200) and
 * before the mangle table's NFQUEUE (-150). The kernel fixes the IP and transport checksums
 * (pseudo-header included) as it does for any nft payload write.
 */
import { FlowKind } from './flow-table';

export const FAST_TABLE = 'portfleet_fast';
const TABLE = `inet ${FAST_TABLE}`;
const PRIORITY = -250;

const HOOKS = [
  { chain: 'prerouting', prefix: 'pre', kind: 0, type: 'filter' },
  { chain: 'output', prefix: 'out', kind: FlowKind.OUTPUT_HOOK, type: 'route' },
] as const;
const FAMILIES = [
  { v: 4, kind: 0, ip: 'ip', nfproto: 'ipv4', addr: 'ipv4_addr' },
  { v: 6, kind: FlowKind.IPV6, ip: 'ip6', nfproto: 'ipv6', addr: 'ipv6_addr' },
] as const;
const PROTOCOLS = [
  { name: 'tcp', kind: 0 },
  { name: 'udp', kind: FlowKind.UDP },
] as const;

/** Name of the map that holds entries of this kind (e.g. `pre4tcp`). */
export function idMapName(kind: number): string {
  const hook = kind & FlowKind.OUTPUT_HOOK ? 'out' : 'pre';
  return `${hook}${kind & FlowKind.IPV6 ? 6 : 4}${kind & FlowKind.UDP ? 'udp' : 'tcp'}`;
}

/** Sets of the marks whose entries saw a TCP FIN, or a RST (filled by the kernel, see the header). */
export const FIN_SET = 'fins';
export const RST_SET = 'rsts';

/** The lookup maps (their elements carry the counters). */
export const ID_MAP_NAMES: readonly string[] = HOOKS.flatMap((h) => FAMILIES.flatMap((f) => PROTOCOLS.map((p) => idMapName(h.kind | f.kind | p.kind))));

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** The whole table (created once at open; `add table` + `delete table` first makes it idempotent). */
export function tableScript(mark: number, capacity: number): string {
  const lines = [`add table ${TABLE}`, `delete table ${TABLE}`, `table ${TABLE} {`];
  for (const h of HOOKS) {
    for (const f of FAMILIES) {
      for (const p of PROTOCOLS) {
        const name = idMapName(h.kind | f.kind | p.kind);
        lines.push(`  map ${name} { type ${f.addr} . inet_service . ${f.addr} . inet_service : mark; flags timeout; counter; size ${capacity}; }`);
      }
    }
  }
  for (const f of FAMILIES) {
    lines.push(`  map saddr${f.v} { type mark : ${f.addr}; size ${capacity}; }`, `  map daddr${f.v} { type mark : ${f.addr}; size ${capacity}; }`);
  }
  lines.push(`  map sport { type mark : inet_service; size ${capacity}; }`, `  map dport { type mark : inet_service; size ${capacity}; }`);
  for (const set of [FIN_SET, RST_SET]) lines.push(`  set ${set} { type mark; flags dynamic; size ${capacity}; }`);
  for (const h of HOOKS) lines.push(`  chain ${h.chain} { type ${h.type} hook ${h.chain} priority ${PRIORITY}; policy accept; }`);
  lines.push('  chain rewrite {');
  lines.push(`    tcp flags & fin != 0 add @${FIN_SET} { meta mark }`, `    tcp flags & rst != 0 add @${RST_SET} { meta mark }`);
  for (const f of FAMILIES) {
    lines.push(`    meta nfproto ${f.nfproto} ${f.ip} saddr set meta mark map @saddr${f.v}`);
    lines.push(`    meta nfproto ${f.nfproto} ${f.ip} daddr set meta mark map @daddr${f.v}`);
  }
  for (const p of PROTOCOLS) {
    lines.push(`    meta l4proto ${p.name} ${p.name} sport set meta mark map @sport`);
    lines.push(`    meta l4proto ${p.name} ${p.name} dport set meta mark map @dport`);
  }
  lines.push('  }', '}');
  // Packets already carrying our mark (injected by the agent) are left alone.
  for (const h of HOOKS) {
    lines.push(`add rule ${TABLE} ${h.chain} meta mark and ${hex(mark)} == ${hex(mark)} return`);
    for (const f of FAMILIES) {
      for (const p of PROTOCOLS) {
        const key = `${f.ip} saddr . ${p.name} sport . ${f.ip} daddr . ${p.name} dport`;
        lines.push(`add rule ${TABLE} ${h.chain} meta nfproto ${f.nfproto} meta l4proto ${p.name} meta mark set ${key} map @${idMapName(h.kind | f.kind | p.kind)} jump rewrite`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Which rewrite maps an entry needs: the fields whose output differs from its input. */
export const enum Field {
  SADDR = 1,
  DADDR = 2,
  SPORT = 4,
  DPORT = 8,
}

export function changedFields(ipv6: boolean, input: Uint32Array, inAt: number, output: Uint32Array, outAt: number): number {
  const words = ipv6 ? 4 : 1;
  let fields = 0;
  for (let w = 0; w < words; w++) {
    if (input[inAt + w] !== output[outAt + w]) fields |= Field.SADDR;
    if (input[inAt + 4 + w] !== output[outAt + 4 + w]) fields |= Field.DADDR;
  }
  const a = input[inAt + 8]!;
  const b = output[outAt + 8]!;
  if (a >>> 16 !== b >>> 16) fields |= Field.SPORT;
  if ((a & 0xffff) !== (b & 0xffff)) fields |= Field.DPORT;
  return fields;
}

/** An entry as the kernel sees it: its number (in the mark) and its tuples. */
export interface FlowEntry {
  kind: number;
  id: number;
  mark: number;
  input: Uint32Array;
  output: Uint32Array;
  /** Offset of the entry's tuple in `input` and `output`. */
  at: number;
}

export function deleteTableScript(): string {
  return `add table ${TABLE}\ndelete table ${TABLE}\n`;
}
