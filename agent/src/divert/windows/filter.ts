/**
 * Rule list → one WinDivert filter string. WinDivert diverts only what its filter selects, so the
 * filter must cover, for every enabled rule, the packets that can start a conversation (the
 * selector) and the packets that come back on it (the reverse channel, which carries the
 * *translated* ports and addresses), plus the reverse channels of conversations still alive from
 * an earlier rule list. Everything else stays in the kernel. The engine still matches exactly; the
 * filter only has to be a tight superset.
 *
 * Written in WinDivert 2.2's filter language (doc/windivert.html §7), network layer:
 * `outbound`/`inbound`/`loopback`, `tcp`/`udp`, `tcp.DstPort == 80`, `ip.SrcAddr == 192.0.2.1`,
 * `ipv6.DstAddr == 2001:db8:0:0:0:0:0:1`, `ifIdx == 12`. And/or are always parenthesised, so the
 * string never depends on operator precedence.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Direction, Protocol, Rule } from '@portfleet/proto';
import type { AdapterInfo, EngineFieldError } from '../../engine/compile';

/**
 * One kind of packet to divert, in wire terms (source/destination as they appear in the packet,
 * the direction WinDivert reports). Absent fields match anything.
 */
export interface ChannelPattern {
  direction: Direction;
  protocol: Protocol;
  srcPort?: number;
  dstPort?: number;
  srcAddresses?: readonly string[];
  dstAddresses?: readonly string[];
  ifIdx?: number;
}

export interface FilterInput {
  rules: readonly Rule[];
  /** DNS name (as written in the rule) → its addresses, as resolved at apply time. */
  resolved: ReadonlyMap<string, readonly string[]>;
  adapters: readonly AdapterInfo[];
  /** Reverse channels of live conversations that the rules no longer produce (kept until they expire). */
  live?: readonly ChannelPattern[];
}

export type CompiledFilter =
  | { ok: true; filter: string; patterns: ChannelPattern[]; widened: boolean }
  | { ok: false; errors: EngineFieldError[] };

/**
 * WinDivert 2.x compiles a filter into at most 256 tests (WINDIVERT_FILTER_MAXLEN); past our budget
 * the filter is widened (addresses, then adapters, then ports dropped) rather than refused.
 */
export const FILTER_TEST_BUDGET = 200;

/** Fields that cannot be expressed at WinDivert's network layer (no Ethernet header there). */
const LAYER2_FIELDS = [
  ['selector', 'localMac'],
  ['selector', 'remoteMac'],
  ['forwardAs', 'localMac'],
  ['forwardAs', 'remoteMac'],
] as const;

export function compileFilter(input: FilterInput): CompiledFilter {
  const errors: EngineFieldError[] = [];
  const patterns: ChannelPattern[] = [];
  input.rules.forEach((rule, ruleIndex) => {
    const report = (field: string, code: EngineFieldError['code'], message: string) =>
      errors.push({ ruleIndex, ruleId: rule.id, field, code, message });
    for (const [part, field] of LAYER2_FIELDS) {
      if (rule[part][field] !== undefined) {
        report(
          `${part}.${field}`,
          'UNSUPPORTED_BY_DATAPLANE',
          'the windivert data plane works at the network layer (IP packets without Ethernet headers), so MAC addresses can be neither selected nor rewritten on Windows',
        );
      }
    }
    const channels = ruleChannels(rule, input, report);
    if (rule.enabled) patterns.push(...channels);
  });
  if (errors.length > 0) return { ok: false, errors };
  patterns.push(...(input.live ?? []));
  return render(patterns);
}

type Report = (field: string, code: EngineFieldError['code'], message: string) => void;

interface Ends {
  localPort?: number;
  remotePort?: number;
  localAddresses?: readonly string[];
  remoteAddresses?: readonly string[];
}

/** The selector's packets, and the packets that answer the transformed ones. */
function ruleChannels(rule: Rule, input: FilterInput, report: Report): ChannelPattern[] {
  const { selector: sel, forwardAs: fwd } = rule;
  const addresses = (field: string, text: string | undefined, firstOnly: boolean) =>
    text === undefined ? undefined : resolve(text, input.resolved, field, firstOnly, report);
  const selected: Ends = {
    localPort: sel.localPort,
    remotePort: sel.remotePort,
    localAddresses: addresses('selector.localAddress', sel.localAddress, false),
    remoteAddresses: addresses('selector.remoteAddress', sel.remoteAddress, false),
  };
  let ifIdx: number | undefined;
  if (sel.adapter !== undefined) {
    const adapter = input.adapters.find((a) => a.name === sel.adapter || String(a.index) === sel.adapter);
    if (adapter) ifIdx = adapter.index;
    else report('selector.adapter', 'UNKNOWN_ADAPTER', `this host has no adapter ${JSON.stringify(sel.adapter)}`);
  }
  const translated: Ends = {
    localPort: fwd.localPort ?? sel.localPort,
    remotePort: fwd.remotePort ?? sel.remotePort,
    localAddresses: addresses('forwardAs.localAddress', fwd.localAddress, true) ?? selected.localAddresses,
    remoteAddresses: addresses('forwardAs.remoteAddress', fwd.remoteAddress, true) ?? selected.remoteAddresses,
  };
  const d = sel.direction;
  const back: Direction = d === 'inbound' ? 'outbound' : 'inbound';
  const out = [toWire(d, sel.protocol, selected, ifIdx)];
  // Where the answer to the transformed packet comes from (SPEC §1 reflection):
  //  none   — the packet kept its direction: answers come the other way, ends as rewritten;
  //  mirror — it went back the way it came with src/dst swapped: answers arrive in the original
  //           direction, ends as rewritten;
  //  route  — it went back unchanged (local and remote swapped): answers arrive in the original
  //           direction with the rewritten ends swapped.
  switch (fwd.reflection ?? 'none') {
    case 'none':
      out.push(toWire(back, sel.protocol, translated));
      break;
    case 'mirror':
      out.push(toWire(d, sel.protocol, translated));
      break;
    case 'route':
      out.push(toWire(d, sel.protocol, swap(translated)));
      break;
  }
  // A clone leaves the original conversation untouched; its answers still count as activity.
  if (fwd.clone) out.push(toWire(back, sel.protocol, selected));
  return out;
}

function swap(e: Ends): Ends {
  return { localPort: e.remotePort, remotePort: e.localPort, localAddresses: e.remoteAddresses, remoteAddresses: e.localAddresses };
}

/** Local/remote → source/destination by direction (SPEC §1: inbound source is remote). */
function toWire(direction: Direction, protocol: Protocol, e: Ends, ifIdx?: number): ChannelPattern {
  const inbound = direction === 'inbound';
  const p: ChannelPattern = { direction, protocol };
  const srcPort = inbound ? e.remotePort : e.localPort;
  const dstPort = inbound ? e.localPort : e.remotePort;
  const srcAddresses = inbound ? e.remoteAddresses : e.localAddresses;
  const dstAddresses = inbound ? e.localAddresses : e.remoteAddresses;
  if (srcPort !== undefined) p.srcPort = srcPort;
  if (dstPort !== undefined) p.dstPort = dstPort;
  if (srcAddresses !== undefined) p.srcAddresses = srcAddresses;
  if (dstAddresses !== undefined) p.dstAddresses = dstAddresses;
  if (ifIdx !== undefined) p.ifIdx = ifIdx;
  return p;
}

/** An address literal as is; a DNS name through the apply-time answers (all, or first per family). */
function resolve(
  text: string,
  resolved: ReadonlyMap<string, readonly string[]>,
  field: string,
  firstPerFamily: boolean,
  report: Report,
): string[] | undefined {
  const literal = isIPv4(text) || isIPv6(text);
  const all = literal ? [text] : resolved.get(text);
  if (!all || all.length === 0) {
    report(field, 'DNS_UNRESOLVED', `${JSON.stringify(text)} has no resolved addresses`);
    return undefined;
  }
  const bad = all.find((a) => !isIPv4(a) && !isIPv6(a));
  if (bad !== undefined) {
    report(field, 'INVALID_ADDRESS', `${JSON.stringify(text)} resolved to ${JSON.stringify(bad)}, which is not an IP address`);
    return undefined;
  }
  if (!firstPerFamily) return all.map(filterAddress);
  const v4 = all.find((a) => isIPv4(a));
  const v6 = all.find((a) => isIPv6(a));
  return [v4, v6].filter((a): a is string => a !== undefined).map(filterAddress);
}

/** IPv6 spelled out in eight groups: the one form every WinDivert 2.x parser reads. */
function filterAddress(address: string): string {
  if (isIPv4(address)) return address;
  const halves = address.toLowerCase().split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  let head = groups(halves[0]);
  let tail = groups(halves[1]);
  const lastOf = (list: string[]) => list[list.length - 1];
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const expandV4 = (list: string[]) => {
    const last = lastOf(list);
    if (last === undefined || !isIPv4(last)) return list;
    const [a, b, c, d] = last.split('.').map(Number) as [number, number, number, number];
    return [...list.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
  };
  if (halves.length === 2) tail = expandV4(tail);
  else head = expandV4(head);
  const zeros = new Array<string>(8 - head.length - tail.length).fill('0');
  return [...head, ...zeros, ...tail].map((g) => parseInt(g, 16).toString(16)).join(':');
}

// ---- merging and rendering ----

/** A pattern as a conjunction of fields, each a disjunction of alternatives (sorted, unique). */
type Clause = Map<FieldName, string[]>;
type FieldName = 'protocol' | 'srcPort' | 'dstPort' | 'srcAddr' | 'dstAddr' | 'ifIdx';
const FIELDS: FieldName[] = ['protocol', 'srcPort', 'dstPort', 'srcAddr', 'dstAddr', 'ifIdx'];

/** How much of each pattern the filter keeps (less when the exact filter is over budget). */
interface Detail {
  ports: boolean;
  addresses: boolean;
  adapters: boolean;
}

function toClause(p: ChannelPattern, keep: Detail): Clause {
  const c: Clause = new Map();
  c.set('protocol', [p.protocol]);
  if (keep.ports && p.srcPort !== undefined) c.set('srcPort', [String(p.srcPort)]);
  if (keep.ports && p.dstPort !== undefined) c.set('dstPort', [String(p.dstPort)]);
  if (keep.addresses && p.srcAddresses) c.set('srcAddr', sortedUnique(p.srcAddresses.map(filterAddress)));
  if (keep.addresses && p.dstAddresses) c.set('dstAddr', sortedUnique(p.dstAddresses.map(filterAddress)));
  if (keep.adapters && p.ifIdx !== undefined) c.set('ifIdx', [String(p.ifIdx)]);
  return c;
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareValues);
}

/** Ports in numeric order; addresses IPv4 first, then IPv6, each in text order. */
function compareValues(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  const ka = `${a.includes(':') ? 1 : 0}${a}`;
  const kb = `${b.includes(':') ? 1 : 0}${b}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Does `a` select every packet `b` selects? (Each field `a` constrains, `b` constrains more narrowly.) */
function covers(a: Clause, b: Clause): boolean {
  for (const [field, values] of a) {
    const other = b.get(field);
    if (!other || !other.every((v) => values.includes(v))) return false;
  }
  return true;
}

/** The one field two clauses differ in, when they constrain the same fields; else null. */
function mergeField(a: Clause, b: Clause): FieldName | null {
  if (a.size !== b.size) return null;
  let differing: FieldName | null = null;
  for (const [field, values] of a) {
    const other = b.get(field);
    if (!other) return null;
    if (other.length === values.length && other.every((v, i) => v === values[i])) continue;
    if (differing) return null;
    differing = field;
  }
  return differing;
}

/** Drops clauses another covers and merges pairs that differ in one field, until nothing changes. */
function simplify(input: Clause[]): Clause[] {
  let clauses = input;
  for (let changed = true; changed; ) {
    changed = false;
    const kept: Clause[] = [];
    for (const c of clauses) {
      if (kept.some((k) => covers(k, c))) {
        changed ||= true;
        continue;
      }
      const absorbed = kept.filter((k) => covers(c, k));
      if (absorbed.length > 0) changed = true;
      const rest = kept.filter((k) => !absorbed.includes(k));
      const partner = rest.findIndex((k) => mergeField(k, c) !== null);
      if (partner >= 0) {
        const k = rest[partner]!;
        const field = mergeField(k, c)!;
        const merged: Clause = new Map(k);
        merged.set(field, sortedUnique([...k.get(field)!, ...c.get(field)!]));
        rest[partner] = merged;
        changed = true;
      } else {
        rest.push(c);
      }
      kept.length = 0;
      kept.push(...rest);
    }
    clauses = kept;
  }
  return clauses;
}

interface Rendered {
  text: string;
  tests: number;
}

function any(parts: Rendered[]): Rendered {
  if (parts.length === 1) return parts[0]!;
  return { text: `(${parts.map((p) => p.text).join(' or ')})`, tests: parts.reduce((n, p) => n + p.tests, 0) };
}

function all(parts: Rendered[]): Rendered {
  if (parts.length === 1) return parts[0]!;
  return { text: `(${parts.map((p) => p.text).join(' and ')})`, tests: parts.reduce((n, p) => n + p.tests, 0) };
}

const test = (text: string): Rendered => ({ text, tests: 1 });

/** Ports as `==` tests, runs of three or more consecutive ports as one `>= … <=` range. */
function renderPorts(field: string, values: string[]): Rendered {
  const ports = values.map(Number);
  const parts: Rendered[] = [];
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    if (j - i >= 2) parts.push(all([test(`${field} >= ${ports[i]}`), test(`${field} <= ${ports[j]}`)]));
    else for (let k = i; k <= j; k++) parts.push(test(`${field} == ${ports[k]}`));
    i = j + 1;
  }
  return any(parts);
}

function renderClause(c: Clause): Rendered {
  const parts: Rendered[] = [];
  const protocols = c.get('protocol')!;
  const hasPort = c.has('srcPort') || c.has('dstPort');
  // A port test only holds for packets of its protocol, so it implies the protocol test.
  if (!hasPort) parts.push(any(protocols.map(test)));
  for (const [field, name] of [
    ['srcPort', 'SrcPort'],
    ['dstPort', 'DstPort'],
  ] as const) {
    const values = c.get(field);
    if (values) parts.push(any(protocols.map((p) => renderPorts(`${p}.${name}`, values))));
  }
  for (const [field, name] of [
    ['srcAddr', 'SrcAddr'],
    ['dstAddr', 'DstAddr'],
  ] as const) {
    const values = c.get(field);
    if (values) parts.push(any(values.map((a) => test(`${isIPv4(a) ? 'ip' : 'ipv6'}.${name} == ${a}`))));
  }
  const ifIdx = c.get('ifIdx');
  if (ifIdx) parts.push(any(ifIdx.map((i) => test(`ifIdx == ${i}`))));
  return all(parts);
}

/**
 * Loopback packets show up only on the outbound path (WinDivert documents this), so traffic a
 * local client sends to a local server matches an inbound selector as `outbound and loopback`.
 */
function renderDirection(direction: string): Rendered {
  return direction === 'outbound' ? test('outbound') : any([test('inbound'), test('loopback')]);
}

function renderAll(patterns: ChannelPattern[], keep: Detail): Rendered {
  const groups: Rendered[] = [];
  for (const direction of ['inbound', 'outbound'] as const) {
    const mine = patterns.filter((p) => p.direction === direction);
    if (mine.length === 0) continue;
    const clauses = simplify(mine.map((p) => toClause(p, keep))).sort(compareClauses);
    groups.push(all([renderDirection(direction), any(clauses.map(renderClause))]));
  }
  return groups.length === 0 ? test('false') : any(groups);
}

function compareClauses(a: Clause, b: Clause): number {
  const key = (c: Clause) => FIELDS.map((f) => c.get(f)?.join(',') ?? '').join('|');
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const DETAIL_STEPS: Detail[] = [
  { ports: true, addresses: true, adapters: true },
  { ports: true, addresses: false, adapters: true },
  { ports: true, addresses: false, adapters: false },
  { ports: false, addresses: false, adapters: false },
];

function render(patterns: ChannelPattern[]): CompiledFilter {
  let step = 0;
  let rendered = renderAll(patterns, DETAIL_STEPS[0]!);
  while (rendered.tests > FILTER_TEST_BUDGET && step + 1 < DETAIL_STEPS.length) {
    rendered = renderAll(patterns, DETAIL_STEPS[++step]!);
  }
  return { ok: true, filter: rendered.text, patterns, widened: step > 0 };
}
