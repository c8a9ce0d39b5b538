/**
 * The reply-key warm-up guesses, before a conversation opens, the home slot of the key its replies
 * will arrive with. A wrong guess costs only a useless load, so this holds the guess to what
 * opening the conversation actually places (describeConversation's role 1), for rewrites,
 * reflection, outbound rules and a loopback packet matched by an inbound rule.
 */
import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket } from '../packet/build';
import { PacketView, ParseStatus } from '../packet/view';
import { PacketBatch, PacketFlag } from './batch';
import { BatchKeys } from './batch-keys';
import { compileRules } from './compile';
import { ConversationTable, hashKey, K, Layout, Meta } from './conversations';
import { matchRule } from './match';
import { ReplyWarmup } from './reply-warmup';
import { RuleIndex } from './rule-index';
import { describeConversation, stayOnLoopback } from './transform';

const caps = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };
const rules: Rule[] = [
  { selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } },
  { selector: { direction: 'inbound', protocol: 'udp', localPort: 53 }, forwardAs: { remoteAddress: '203.0.113.9', remotePort: 5353, reflection: 'mirror' } },
  { selector: { direction: 'outbound', protocol: 'tcp', remotePort: 25 }, forwardAs: { remotePort: 8025, localAddress: '192.0.2.99' } },
].map((r, i) => ({ id: `r${i}`, enabled: true, activityMonitoring: true, ...r }) as Rule);

const packets: { bytes: Uint8Array; flags: number }[] = [
  { bytes: buildPacket({ protocol: 'tcp', src: '198.51.100.7', dst: '192.0.2.1', srcPort: 40000, dstPort: 80 }), flags: 0 },
  { bytes: buildPacket({ protocol: 'udp', src: '198.51.100.8', dst: '192.0.2.1', srcPort: 40001, dstPort: 53 }), flags: 0 },
  { bytes: buildPacket({ protocol: 'tcp', src: '192.0.2.1', dst: '198.51.100.9', srcPort: 40002, dstPort: 25 }), flags: PacketFlag.Outbound },
  // Loopback: seen outbound, matched by the inbound rule (local = destination).
  { bytes: buildPacket({ protocol: 'tcp', src: '127.0.0.1', dst: '127.0.0.1', srcPort: 40003, dstPort: 80 }), flags: PacketFlag.Outbound | PacketFlag.Loopback },
  // Loopback matched by the outbound rule: its reply key is outbound too (stayOnLoopback).
  { bytes: buildPacket({ protocol: 'tcp', src: '127.0.0.1', dst: '127.0.0.1', srcPort: 40005, dstPort: 25 }), flags: PacketFlag.Outbound | PacketFlag.Loopback },
  // No rule: not warmed.
  { bytes: buildPacket({ protocol: 'tcp', src: '198.51.100.7', dst: '192.0.2.1', srcPort: 40004, dstPort: 81 }), flags: 0 },
];

describe('ReplyWarmup', () => {
  const { rules: compiled, errors } = compileRules({ rules, settings: DEFAULT_SETTINGS, resolved: new Map(), adapters: [], capabilities: caps });
  const candidates = new RuleIndex(compiled);
  const table = new ConversationTable(64, () => {});
  const batch = new PacketBatch(8);
  for (const p of packets) batch.push(p.bytes, p.flags, 1);
  const keys = new BatchKeys();
  keys.fill(batch, table.scale);

  /** The home slot of role 1's key as opening the conversation of packet i describes it. */
  function placedReplyHome(i: number): number {
    const pv = new PacketView();
    expect(pv.parseView(batch.view, batch.offset[i]!, batch.length[i]!, false)).toBe(ParseStatus.Ok);
    const outbound = batch.flags[i]! & PacketFlag.Outbound;
    const loopback = (batch.flags[i]! & (PacketFlag.Outbound | PacketFlag.Loopback)) === (PacketFlag.Outbound | PacketFlag.Loopback);
    let as = outbound;
    let r = matchRule(compiled, candidates, pv, batch.data, batch.view, outbound, 1);
    if (r < 0 && loopback) {
      r = matchRule(compiled, candidates, pv, batch.data, batch.view, 0, 1);
      as = 0;
    }
    expect(r).toBeGreaterThanOrEqual(0);
    const key = new Uint32Array(Layout.RECORD_WORDS);
    key[K.META] = Meta.USED | (as ? Meta.OUTBOUND : 0) | pv.protocol;
    key[K.SRC] = batch.view.getUint32(pv.src);
    key[K.DST] = batch.view.getUint32(pv.dst);
    key[K.PORTS] = ((pv.srcPort << 16) | pv.dstPort) >>> 0;
    const records = new Uint32Array(Layout.ROLES * Layout.RECORD_WORDS);
    describeConversation(records, table.macs, table.out6, 0, compiled[r]!, key, pv, batch.data, 1);
    if (loopback) stayOnLoopback(records, false);
    return table.home(hashKey(records, Layout.RECORD_WORDS));
  }

  it('warms the home slot of the reply key each first packet will place, and skips packets no rule matches', () => {
    expect(errors).toEqual([]);
    const warmup = new ReplyWarmup();
    expect(warmup.warm(batch, keys.cols, table, compiled, candidates)).toBe(5);
    expect(Array.from(warmup.homes.subarray(0, 5))).toEqual([0, 1, 2, 3, 4].map(placedReplyHome));
  });
});
