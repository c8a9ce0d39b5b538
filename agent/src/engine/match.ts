/**
 * First-match over the compiled rules for the first packet of a conversation. Only new
 * conversations come here; established ones are found in the conversation table.
 */
import { ETHERNET } from '../packet/ethernet';
import type { PacketView } from '../packet/view';
import { FAMILY_V4, FAMILY_V6, type AddressSet, type CompiledRule } from './compile';
import type { RuleIndex } from './rule-index';

/** Index into `rules` of the first rule matching the packet, or -1 (only `index`'s candidates are tested). */
export function matchRule(
  rules: readonly CompiledRule[],
  index: RuleIndex,
  pv: PacketView,
  data: Uint8Array,
  dv: DataView,
  outbound: number,
  ifIndex: number,
): number {
  const family = pv.family === 4 ? FAMILY_V4 : FAMILY_V6;
  const localPort = outbound ? pv.srcPort : pv.dstPort;
  const remotePort = outbound ? pv.dstPort : pv.srcPort;
  const localAt = outbound ? pv.src : pv.dst;
  const remoteAt = outbound ? pv.dst : pv.src;
  const lists = index.lists;
  for (let k = index.first(outbound, pv.protocol, localPort); ; k++) {
    const r = lists[k]!;
    if (r < 0) return -1;
    const rule = rules[r]!;
    if (
      rule.outbound !== outbound ||
      rule.protocol !== pv.protocol ||
      (rule.families & family) === 0 ||
      (rule.localPort !== 0 && rule.localPort !== localPort) ||
      (rule.remotePort !== 0 && rule.remotePort !== remotePort) ||
      (rule.adapter >= 0 && rule.adapter !== ifIndex)
    ) {
      continue;
    }
    if (rule.localAddress !== null && !inSet(rule.localAddress, dv, localAt, pv.family)) continue;
    if (rule.remoteAddress !== null && !inSet(rule.remoteAddress, dv, remoteAt, pv.family)) continue;
    if (rule.localMac !== null || rule.remoteMac !== null) {
      if (pv.l2 < 0) continue;
      // Inbound: the frame's source is the remote end; outbound: the local end.
      const localMacAt = pv.l2 + (outbound ? ETHERNET.SOURCE : ETHERNET.DESTINATION);
      const remoteMacAt = pv.l2 + (outbound ? ETHERNET.DESTINATION : ETHERNET.SOURCE);
      if (rule.localMac !== null && !sameMac(rule.localMac, data, localMacAt)) continue;
      if (rule.remoteMac !== null && !sameMac(rule.remoteMac, data, remoteMacAt)) continue;
    }
    return r;
  }
}

function inSet(set: AddressSet, dv: DataView, at: number, family: number): boolean {
  if (family === 4) {
    const a = dv.getUint32(at);
    const v4 = set.v4;
    for (let i = 0; i < v4.length; i++) if (v4[i] === a) return true;
    return false;
  }
  const v6 = set.v6;
  const a0 = dv.getUint32(at);
  const a1 = dv.getUint32(at + 4);
  const a2 = dv.getUint32(at + 8);
  const a3 = dv.getUint32(at + 12);
  for (let i = 0; i < v6.length; i += 4) {
    if (v6[i] === a0 && v6[i + 1] === a1 && v6[i + 2] === a2 && v6[i + 3] === a3) return true;
  }
  return false;
}

function sameMac(mac: Uint8Array, data: Uint8Array, at: number): boolean {
  for (let b = 0; b < 6; b++) if (data[at + b] !== mac[b]) return false;
  return true;
}
