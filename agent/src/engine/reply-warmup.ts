/**
 * Warms the reply keys' home slots of a batch's first packets before the main pass opens their
 * conversations. A reply key is known only once the rule has matched, and its home slot is a
 * random line of a table far larger than the cache: opened one by one, every first packet waited
 * for that miss (docs/engine.md "Performance"). Here the batch's plain IPv4 packets that the table
 * does not hold are matched and their reply keys hashed first, then the home slots are read in a
 * tight loop of independent loads, whose misses the CPU overlaps.
 *
 * Only a hint: the main pass matches and opens again as before (an earlier packet of the batch
 * may open the same conversation, a loopback packet may match otherwise), so a wrong guess costs
 * a useless load, never a wrong answer.
 */
import { PacketView } from '../packet/view';
import { IpProtocol } from '../packet/ip-protocol';
import { Flag, PacketBatch } from './batch';
import { BK } from './batch-keys';
import type { CompiledRule } from './compile';
import { ConversationTable, hashKey, K, Layout, Meta, S, TAG } from './conversations';
import { matchRule } from './match';
import type { RuleIndex } from './rule-index';
import { replyKey } from './transform';

const LOOPBACK_OUT = Flag.Outbound | Flag.Loopback;

export class ReplyWarmup {
  private readonly pv = new PacketView();
  /** A first packet's key (record 0) and its reply key (record 1). */
  private readonly record = new Uint32Array(2 * Layout.RECORD_WORDS);
  /** Home slots of the reply keys warmed by the last `warm`, in batch order. */
  homes = new Uint32Array(0);
  /** Sum of the slot words read: kept so the loads are not optimized away. */
  touched = 0;

  /**
   * For the packets of `batch` parsed into `cols` (BatchKeys) whose key `table` does not hold:
   * matches them, reads their reply keys' home slots; returns how many (their homes are `homes[0 .. n)`).
   */
  warm(batch: PacketBatch, cols: Uint32Array, table: ConversationTable, rules: readonly CompiledRule[], candidates: RuleIndex): number {
    if (this.homes.length < batch.capacity) this.homes = new Uint32Array(batch.capacity);
    const homes = this.homes;
    const pv = this.pv;
    const record = this.record;
    const data = batch.data;
    const dv = batch.view;
    const count = batch.count;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const at = i * BK.WORDS;
      const l3 = cols[at + BK.L3]!;
      if (l3 === BK.NONE) continue;
      const kind = cols[at + BK.KIND]!;
      const src = cols[at + BK.SRC]!;
      const dst = cols[at + BK.DST]!;
      const ports = cols[at + BK.PORTS]!;
      if (table.findV4(kind, src, dst, ports, cols[at + BK.HOME]!) >= 0) continue;
      const flags = cols[at + BK.FLAGS]!;
      const protocol = (kind & TAG.UDP) === 0 ? IpProtocol.Tcp : IpProtocol.Udp;
      pv.quickIpv4((flags & Flag.Layer2) !== 0 ? batch.offset[i]! : -1, l3, cols[at + BK.L4]!, protocol);
      // quickIpv4 leaves the ports, which matching reads.
      pv.srcPort = ports >>> 16;
      pv.dstPort = ports & 0xffff;
      const outbound = flags & Flag.Outbound;
      let as = outbound;
      let r = matchRule(rules, candidates, pv, data, dv, outbound, batch.ifIndex[i]!);
      const loopback = (flags & LOOPBACK_OUT) === LOOPBACK_OUT;
      if (r < 0 && loopback) {
        r = matchRule(rules, candidates, pv, data, dv, 0, batch.ifIndex[i]!);
        as = 0;
      }
      if (r < 0) continue;
      record[K.META] = Meta.USED | (as ? Meta.OUTBOUND : 0) | protocol;
      record[K.SRC] = src;
      record[K.DST] = dst;
      record[K.PORTS] = ports;
      replyKey(record, Layout.RECORD_WORDS, rules[r]!, record, true);
      // A loopback conversation's keys all carry the outbound direction (stayOnLoopback).
      if (loopback) record[Layout.RECORD_WORDS + K.META] = record[Layout.RECORD_WORDS + K.META]! | Meta.OUTBOUND;
      homes[n++] = table.home(hashKey(record, Layout.RECORD_WORDS));
    }
    this.touched = table.touchHomes(homes, n);
    return n;
  }
}
