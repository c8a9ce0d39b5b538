/**
 * An evaluator of WinDivert's filter language (doc/windivert.html §7) for the network layer,
 * used to check what a compiled filter selects. It is stricter than WinDivert in one way on
 * purpose: `and` and `or` mixed at one level without parentheses are refused, so the compiler's
 * output never depends on precedence. Fields: inbound, outbound, loopback, impostor, ifIdx,
 * subIfIdx, ip, ipv6, tcp, udp, protocol, length, ip.{SrcAddr,DstAddr,TTL,Protocol},
 * ipv6.{SrcAddr,DstAddr,HopLimit,NextHdr}, tcp/udp.{SrcPort,DstPort}, tcp.{Syn,Ack,Fin,Rst},
 * tcp/udp.PayloadLength. A test on a field the packet does not have fails (as in WinDivert).
 */
import { isIPv4 } from 'node:net';
import { parseIpv6 } from '../../../../proto/src/rules/address';

export interface EvalAddress {
  outbound: boolean;
  loopback?: boolean;
  impostor?: boolean;
  ifIdx?: number;
  subIfIdx?: number;
}

type Value = bigint;
type Node =
  | { kind: 'const'; value: boolean }
  | { kind: 'test'; field: string; op: string; value: Value }
  | { kind: 'not'; arg: Node }
  | { kind: 'and' | 'or'; args: Node[] }
  | { kind: 'cond'; test: Node; then: Node; else: Node };

const OPS = ['==', '!=', '<=', '>=', '=', '<', '>'];
const MACROS: Record<string, bigint> = { TRUE: 1n, FALSE: 0n, TCP: 6n, UDP: 17n, ICMP: 1n, ICMPV6: 58n, PACKET: 0n };

export function parseFilter(text: string): Node {
  let at = 0;
  const skip = () => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const peek = (s: string) => {
    skip();
    if (!text.startsWith(s, at)) return false;
    // Word operators must end at a word boundary.
    if (/^[a-z]/i.test(s) && /[A-Za-z0-9_.]/.test(text[at + s.length] ?? '')) return false;
    return true;
  };
  const eat = (s: string) => {
    if (!peek(s)) return false;
    at += s.length;
    return true;
  };
  const fail = (msg: string): never => {
    throw new Error(`${msg} at ${at}: ${JSON.stringify(text.slice(at, at + 20))}`);
  };

  const parseValue = (): Value => {
    skip();
    const m = /^[0-9A-Za-z:.]+/.exec(text.slice(at));
    if (!m) fail('value expected');
    const token = m![0];
    at += token.length;
    if (token in MACROS) return MACROS[token]!;
    if (/^0x[0-9a-f]+$/i.test(token)) return BigInt(token);
    if (/^\d+$/.test(token)) return BigInt(token);
    if (isIPv4(token)) return ipv4Value(token);
    const groups = token.includes(':') ? parseIpv6(token) : null;
    if (groups) return groups.reduce((v, g) => (v << 16n) | BigInt(g), 0n);
    return fail(`bad value ${token}`);
  };

  const parsePrimary = (): Node => {
    if (eat('(')) {
      const inner = parseCond();
      if (!eat(')')) fail('")" expected');
      return inner;
    }
    if (eat('not') || eat('!')) return { kind: 'not', arg: parsePrimary() };
    if (eat('true')) return { kind: 'const', value: true };
    if (eat('false')) return { kind: 'const', value: false };
    skip();
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(at));
    if (!m) fail('field expected');
    const field = m![0];
    if (!(field in FIELDS)) fail(`unknown field ${field}`);
    at += field.length;
    skip();
    // Longer operators come first in OPS, so `==` wins over `=` and `<=` over `<`.
    const op = OPS.find((o) => text.startsWith(o, at));
    if (op) {
      at += op.length;
      return { kind: 'test', field, op: op === '=' ? '==' : op, value: parseValue() };
    }
    return { kind: 'test', field, op: '!=', value: 0n };
  };

  const parseSeq = (): Node => {
    const args = [parsePrimary()];
    let kind: 'and' | 'or' | null = null;
    for (;;) {
      const next = eat('and') || eat('&&') ? 'and' : eat('or') || eat('||') ? 'or' : null;
      if (!next) break;
      if (kind && kind !== next) fail('"and" and "or" mixed without parentheses');
      kind = next;
      args.push(parsePrimary());
    }
    return kind ? { kind, args } : args[0]!;
  };

  const parseCond = (): Node => {
    const head = parseSeq();
    if (!eat('?')) return head;
    const then = parseCond();
    if (!eat(':')) fail('":" expected');
    return { kind: 'cond', test: head, then, else: parseCond() };
  };

  const node = parseCond();
  skip();
  if (at !== text.length) fail('trailing text');
  return node;
}

function ipv4Value(s: string): bigint {
  return s.split('.').reduce((v, o) => (v << 8n) | BigInt(o), 0n);
}

interface Parsed {
  v6: boolean;
  protocol: number;
  src: bigint;
  dst: bigint;
  ttl: number;
  l4: number;
  length: number;
}

function parsePacket(b: Uint8Array): Parsed | null {
  const version = b[0]! >> 4;
  const word = (at: number) => (b[at]! << 8) | b[at + 1]!;
  const big = (at: number, n: number) => {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[at + i]!);
    return v;
  };
  if (version === 4) return { v6: false, protocol: b[9]!, src: big(12, 4), dst: big(16, 4), ttl: b[8]!, l4: (b[0]! & 0xf) * 4, length: word(2) };
  if (version === 6) return { v6: true, protocol: b[6]!, src: big(8, 16), dst: big(24, 16), ttl: b[7]!, l4: 40, length: 40 + word(4) };
  return null;
}

type Getter = (p: Parsed | null, b: Uint8Array, a: EvalAddress) => bigint | null;
const num = (v: number | boolean | undefined | null): bigint | null => (v === undefined || v === null ? null : BigInt(Number(v)));
const l4word = (proto: number, offset: number): Getter => (p, b) =>
  p && p.protocol === proto ? BigInt((b[p.l4 + offset]! << 8) | b[p.l4 + offset + 1]!) : null;
const tcpFlag = (bit: number): Getter => (p, b) => (p && p.protocol === 6 ? BigInt((b[p.l4 + 13]! & bit) !== 0 ? 1 : 0) : null);

const FIELDS: Record<string, Getter> = {
  zero: () => 0n,
  inbound: (_p, _b, a) => num(!a.outbound),
  outbound: (_p, _b, a) => num(a.outbound),
  loopback: (_p, _b, a) => num(a.loopback ?? false),
  impostor: (_p, _b, a) => num(a.impostor ?? false),
  ifIdx: (_p, _b, a) => num(a.ifIdx ?? 0),
  subIfIdx: (_p, _b, a) => num(a.subIfIdx ?? 0),
  length: (p) => num(p?.length),
  ip: (p) => num(p !== null && !p.v6),
  ipv6: (p) => num(p !== null && p.v6),
  tcp: (p) => num(p !== null && p.protocol === 6),
  udp: (p) => num(p !== null && p.protocol === 17),
  protocol: (p) => num(p?.protocol),
  'ip.SrcAddr': (p) => (p && !p.v6 ? p.src : null),
  'ip.DstAddr': (p) => (p && !p.v6 ? p.dst : null),
  'ip.TTL': (p) => (p && !p.v6 ? BigInt(p.ttl) : null),
  'ip.Protocol': (p) => (p && !p.v6 ? BigInt(p.protocol) : null),
  'ipv6.SrcAddr': (p) => (p && p.v6 ? p.src : null),
  'ipv6.DstAddr': (p) => (p && p.v6 ? p.dst : null),
  'ipv6.HopLimit': (p) => (p && p.v6 ? BigInt(p.ttl) : null),
  'ipv6.NextHdr': (p) => (p && p.v6 ? BigInt(p.protocol) : null),
  'tcp.SrcPort': l4word(6, 0),
  'tcp.DstPort': l4word(6, 2),
  'udp.SrcPort': l4word(17, 0),
  'udp.DstPort': l4word(17, 2),
  'tcp.Syn': tcpFlag(0x02),
  'tcp.Ack': tcpFlag(0x10),
  'tcp.Fin': tcpFlag(0x01),
  'tcp.Rst': tcpFlag(0x04),
  'tcp.PayloadLength': (p, b) => (p && p.protocol === 6 ? BigInt(p.length - p.l4 - (b[p.l4 + 12]! >> 4) * 4) : null),
  'udp.PayloadLength': (p) => (p && p.protocol === 17 ? BigInt(p.length - p.l4 - 8) : null),
};

function compare(op: string, a: bigint, b: bigint): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

function evaluate(node: Node, p: Parsed | null, bytes: Uint8Array, a: EvalAddress): boolean {
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'test': {
      const v = FIELDS[node.field]!(p, bytes, a);
      return v !== null && compare(node.op, v, node.value);
    }
    case 'not':
      return !evaluate(node.arg, p, bytes, a);
    case 'and':
      return node.args.every((n) => evaluate(n, p, bytes, a));
    case 'or':
      return node.args.some((n) => evaluate(n, p, bytes, a));
    case 'cond':
      return evaluate(node.test, p, bytes, a) ? evaluate(node.then, p, bytes, a) : evaluate(node.else, p, bytes, a);
  }
}

/** A compiled filter: `matches(packet, address)` as WinDivert would decide at the network layer. */
export function compileEval(text: string): (bytes: Uint8Array, address: EvalAddress) => boolean {
  const node = parseFilter(text);
  return (bytes, address) => evaluate(node, parsePacket(bytes), bytes, address);
}

/** Number of field tests in a filter (WinDivert 2.x refuses more than 256). */
export function countTests(text: string): number {
  const count = (n: Node): number =>
    n.kind === 'test' ? 1 : n.kind === 'const' ? 0 : n.kind === 'not' ? count(n.arg) : n.kind === 'cond' ? count(n.test) + count(n.then) + count(n.else) : n.args.reduce((s, x) => s + count(x), 0);
  return count(parseFilter(text));
}
