/**
 * Turns the first packet of a conversation and the rule that matched it into the conversation's
 * role records (SPEC §1 "Forward as"): every field is local/remote, mapped to source/destination
 * by the packet's direction; reflection turns the packet around; the reverse role is the exact
 * inverse. Writes three records into a scratch array (the table places them), so a new
 * conversation allocates nothing.
 */
import { fold } from '../packet/checksum';
import { ETHERNET } from '../packet/ethernet';
import type { PacketView } from '../packet/view';
import { Verdict } from './batch';
import { type CompiledRule, Reflection } from './compile';
import { Action, CONTROL, K, Layout, Meta, R, V4_OUT } from './conversations';
import { IP_CHECKSUM_SHIFT } from './rewrite';

/**
 * Writes the records of roles 0, 1 and 2 (used by clones) at `records[0 ..]`, `[16 ..]`, `[32 ..]`
 * and conversation c's MAC pairs; `key` holds the packet's key.
 */
export function describeConversation(
  records: Uint32Array,
  macs: Uint8Array,
  out6: Uint32Array,
  c: number,
  rule: CompiledRule,
  key: Uint32Array,
  pv: PacketView,
  data: Uint8Array,
  ifIndex: number,
): void {
  const at0 = 0;
  const at1 = at0 + Layout.RECORD_WORDS;
  const at2 = at1 + Layout.RECORD_WORDS;
  for (let w = 0; w < K.PORTS + 1; w++) records[at0 + w] = key[w]!;
  const meta = key[K.META]!;
  const d = (meta & Meta.OUTBOUND) !== 0 ? 1 : 0;
  const v4 = pv.family === 4;
  const words = v4 ? 1 : 4;
  const reflected = rule.reflection !== Reflection.None;
  const outDir = reflected ? 1 - d : d;
  const srcIsLocal = outputSourceIsLocal(rule, d);
  replyKey(records, at1, rule, key, v4);
  const ports = key[K.PORTS]!;
  const srcPort = ports >>> 16;
  const dstPort = ports & 0xffff;

  const macs0 = c * 2 * Layout.MAC_PAIR;
  const macs1 = macs0 + Layout.MAC_PAIR;
  let macChange = false;
  if (pv.l2 >= 0 && (rule.toLocalMac !== null || rule.toRemoteMac !== null || reflected)) {
    const frame = pv.l2;
    for (let b = 0; b < 6; b++) {
      const inDst = data[frame + ETHERNET.DESTINATION + b]!;
      const inSrc = data[frame + ETHERNET.SOURCE + b]!;
      const local = rule.toLocalMac !== null ? rule.toLocalMac[b]! : d ? inSrc : inDst;
      const remote = rule.toRemoteMac !== null ? rule.toRemoteMac[b]! : d ? inDst : inSrc;
      const outDst = srcIsLocal ? remote : local;
      const outSrc = srcIsLocal ? local : remote;
      macs[macs0 + b] = outDst;
      macs[macs0 + 6 + b] = outSrc;
      macs[macs1 + b] = inSrc; // the reply goes back to whoever sent the first frame
      macs[macs1 + 6 + b] = inDst;
      if (outDst !== inDst || outSrc !== inSrc) macChange = true;
    }
  }

  const rerouted = outDir !== d || rule.toAdapter >= 0;
  let same = !rerouted && !macChange && records[at1 + K.PORTS] === (((dstPort << 16) | srcPort) >>> 0);
  for (let w = 0; w < words && same; w++) {
    same = records[at1 + K.DST + w] === key[K.SRC + w] && records[at1 + K.SRC + w] === key[K.DST + w];
  }
  const verdict = rerouted ? Verdict.Reroute : Verdict.AcceptModified;
  const macBit = macChange ? CONTROL.MACS : 0;
  const action0 = rule.clone ? Action.Clone : same ? Action.Accept : Action.Rewrite;
  const action1 = rule.clone ? Action.Drop : same ? Action.Accept : Action.Rewrite;
  records[at0 + R.CONTROL] = action0 | (verdict << CONTROL.VERDICT_SHIFT) | (outDir << CONTROL.DIRECTION_SHIFT) | macBit;
  records[at1 + R.CONTROL] = action1 | (verdict << CONTROL.VERDICT_SHIFT) | ((1 - d) << CONTROL.DIRECTION_SHIFT) | macBit;
  records[at0 + R.ADAPTER] = rule.toAdapter >= 0 ? rule.toAdapter : Layout.KEEP_ADAPTER;
  records[at1 + R.ADAPTER] = rule.toAdapter >= 0 ? ifIndex : Layout.KEEP_ADAPTER;
  deltas(records, at0, at1, words);
  deltas(records, at1, at0, words);
  if (v4) {
    outputV4(records, at0, at1);
    outputV4(records, at1, at0);
  } else {
    outputV6(records, at1, out6, c * 2 * Layout.OUT6_WORDS);
    outputV6(records, at0, out6, (c * 2 + 1) * Layout.OUT6_WORDS);
  }
  if (rule.clone) {
    // Replies to the original: the first packet's tuple turned around, passed unchanged.
    records[at2 + K.META] = meta ^ Meta.OUTBOUND;
    for (let w = 0; w < 4; w++) {
      records[at2 + K.SRC + w] = key[K.DST + w]!;
      records[at2 + K.DST + w] = key[K.SRC + w]!;
    }
    records[at2 + K.PORTS] = ((dstPort << 16) | srcPort) >>> 0;
    records[at2 + R.CONTROL] = Action.Accept;
  }
}

/**
 * Which end becomes the output source for a first packet of direction d (1 outbound): mirror
 * keeps local/remote through the turn (so the addresses swap), route keeps source/destination
 * (local/remote swap).
 */
function outputSourceIsLocal(rule: CompiledRule, d: number): boolean {
  return (rule.reflection === Reflection.Mirror ? 1 - d : d) === 1;
}

/**
 * Writes at `records[at ..]` role 1's key (the reply to the output: source = output destination
 * and vice versa) for the first packet whose key is `key` (its direction as the rule sees it).
 * Also used alone, to warm the reply key's slot before the conversation opens (`reply-warmup.ts`).
 */
export function replyKey(records: Uint32Array, at: number, rule: CompiledRule, key: Uint32Array, v4: boolean): void {
  const meta = key[K.META]!;
  const d = (meta & Meta.OUTBOUND) !== 0 ? 1 : 0;
  const words = v4 ? 1 : 4;
  const outDir = rule.reflection !== Reflection.None ? 1 - d : d;
  const srcIsLocal = outputSourceIsLocal(rule, d);
  const toLocal = v4 ? rule.toLocalAddress4 : rule.toLocalAddress6;
  const toRemote = v4 ? rule.toRemoteAddress4 : rule.toRemoteAddress6;
  const localAt = d ? K.SRC : K.DST;
  const remoteAt = d ? K.DST : K.SRC;
  for (let w = 0; w < words; w++) {
    const local = toLocal !== null ? toLocal[w]! : key[localAt + w]!;
    const remote = toRemote !== null ? toRemote[w]! : key[remoteAt + w]!;
    records[at + K.DST + w] = srcIsLocal ? local : remote; // output source
    records[at + K.SRC + w] = srcIsLocal ? remote : local; // output destination
  }
  const ports = key[K.PORTS]!;
  const srcPort = ports >>> 16;
  const dstPort = ports & 0xffff;
  const localPort = rule.toLocalPort || (d ? srcPort : dstPort);
  const remotePort = rule.toRemotePort || (d ? dstPort : srcPort);
  const outSrcPort = srcIsLocal ? localPort : remotePort;
  const outDstPort = srcIsLocal ? remotePort : localPort;
  records[at + K.PORTS] = ((outDstPort << 16) | outSrcPort) >>> 0;
  records[at + K.META] = (meta & ~Meta.OUTBOUND) | (outDir ? 0 : Meta.OUTBOUND);
}

/**
 * Writes to R.DELTAS of the record at `at` the checksum deltas for a packet carrying its key
 * rewritten to the key at `outAt` turned around: transport (pseudo-header addresses + ports)
 * and, for IPv4, the header checksum. (Stored here, not returned: V8 would box the 32-bit result
 * of a call it does not inline in a heap number.) The 16-bit deltas (~old + new, RFC 1624) of all
 * words are summed first and folded once (word32Delta per word was a call V8 did not inline);
 * fewer than 2^16 terms below 2^17 fold to the same one's-complement value.
 */
function deltas(records: Uint32Array, at: number, outAt: number, words: number): void {
  let ip = 0;
  for (let w = 0; w < words; w++) {
    const src = records[at + K.SRC + w]!;
    const dst = records[at + K.DST + w]!;
    const newSrc = records[outAt + K.DST + w]!;
    const newDst = records[outAt + K.SRC + w]!;
    ip += (~(src >>> 16) & 0xffff) + (newSrc >>> 16) + (~src & 0xffff) + (newSrc & 0xffff);
    ip += (~(dst >>> 16) & 0xffff) + (newDst >>> 16) + (~dst & 0xffff) + (newDst & 0xffff);
  }
  const inPorts = records[at + K.PORTS]!;
  const outPorts = records[outAt + K.PORTS]!;
  // The output ports as the packet carries them: the reply key's ports turned around.
  const ports = (~(inPorts >>> 16) & 0xffff) + (outPorts & 0xffff) + (~inPorts & 0xffff) + (outPorts >>> 16);
  records[at + R.DELTAS] = fold(ip + ports) | (words === 1 ? fold(ip) << IP_CHECKSUM_SHIFT : 0);
}

/** Stores in the IPv4 record at `at` its output tuple: the key at `outAt` turned around. */
function outputV4(records: Uint32Array, at: number, outAt: number): void {
  const ports = records[outAt + K.PORTS]!;
  records[at + V4_OUT.SRC] = records[outAt + K.DST]!;
  records[at + V4_OUT.DST] = records[outAt + K.SRC]!;
  records[at + V4_OUT.PORTS] = ((ports << 16) | (ports >>> 16)) >>> 0;
}

/** Stores at `out[outAt ..]` the IPv6 key at `records[at ..]` turned around, as the packet will carry it. */
function outputV6(records: Uint32Array, at: number, out: Uint32Array, outAt: number): void {
  for (let w = 0; w < 4; w++) {
    out[outAt + w] = records[at + K.DST + w]!;
    out[outAt + 4 + w] = records[at + K.SRC + w]!;
  }
  const ports = records[at + K.PORTS]!;
  out[outAt + 8] = ((ports << 16) | (ports >>> 16)) >>> 0;
}

/** True when the keys of two records are equal. */
export function sameKey(records: Uint32Array, a: number, b: number): boolean {
  if (records[a] !== records[b] || records[a + K.SRC] !== records[b + K.SRC]) return false;
  if (records[a + K.DST] !== records[b + K.DST] || records[a + K.PORTS] !== records[b + K.PORTS]) return false;
  if ((records[a]! & Meta.IPV6) === 0) return true;
  for (const w of [2, 3, 4, 6, 7, 8]) if (records[a + w] !== records[b + w]) return false;
  return true;
}

/**
 * Loopback conversations (first packet flagged outbound + loopback): every packet of them, either
 * way, is seen leaving this host, so every role's key carries the outbound direction and every
 * output goes on outbound (loopback); only an adapter rule reroutes. Rewrites `records` (the
 * three role records `describeConversation` wrote) in place.
 */
export function stayOnLoopback(records: Uint32Array, toAdapter: boolean): void {
  const verdict = toAdapter ? Verdict.Reroute : Verdict.AcceptModified;
  const keep = ~((3 << CONTROL.VERDICT_SHIFT) | (1 << CONTROL.DIRECTION_SHIFT));
  for (let at = 0; at < Layout.ROLES * Layout.RECORD_WORDS; at += Layout.RECORD_WORDS) {
    records[at + K.META] = records[at + K.META]! | Meta.OUTBOUND;
    const control = records[at + R.CONTROL]!;
    records[at + R.CONTROL] = ((control & keep) | (verdict << CONTROL.VERDICT_SHIFT) | (1 << CONTROL.DIRECTION_SHIFT)) >>> 0;
  }
}
