/**
 * The transform engine (SPEC §1): pure and synchronous. `apply` compiles a rule list (atomically:
 * all or nothing); `process` reads a batch of packets, keeps the conversation table, rewrites in
 * place, writes verdicts and emits clones into a second batch. No I/O, no promises, no allocation
 * per packet. See docs/engine.md for the semantic choices.
 */
import { ParseStatus, PacketView } from '../packet/view';
import { Code, Flag, PacketBatch, PacketFlag, Verdict } from './batch';
import { type ApplyInput, type CompiledRule, type EngineFieldError, compileRules } from './compile';
import { Action, CONTROL, ConversationTable, hashKey, K, Layout, MAX_CONVERSATIONS, Meta, R, S, TAG, CONV } from './conversations';
import { BatchKeys, BK } from './batch-keys';
import { ReplyWarmup } from './reply-warmup';
import { COUNTER, RuleCounterTable, type RuleCounters } from './counters';
import { matchRule } from './match';
import { RuleIndex } from './rule-index';
import { IP_CHECKSUM_SHIFT, rewritePacket } from './rewrite';
import { IpProtocol } from '../packet/ip-protocol';
import { IPV4 } from '../packet/ipv4';
import { TCP } from '../packet/tcp';
import { UDP } from '../packet/udp';
import { describeConversation, sameKey, stayOnLoopback } from './transform';

export type { AdapterInfo, ApplyInput, DataPlaneCapabilities, EngineFieldError } from './compile';
export type { RuleCounters } from './counters';
export { PacketBatch, PacketFlag, Verdict } from './batch';

export interface ApplyResult {
  ok: boolean;
  errors: EngineFieldError[];
}

export interface EngineStats {
  /** Conversations in the table now. */
  conversations: number;
  /** Conversations pushed out because the table was full. */
  evictions: number;
  /** Packets with truncated or inconsistent headers (passed unchanged). */
  malformed: number;
  /** Conversations ended by their inactivity timeout. */
  expired: number;
  /** IP fragments (passed unchanged, see docs/engine.md). */
  fragments: number;
  /** Packets well formed but not rewritable (IPv6 routing header with segments left). */
  unsupported: number;
  /** Conversations replaced because a new one needed the same tuple. */
  collisions: number;
  /** Clones lost because the emitted batch was full. */
  emitOverflow: number;
}

export interface EngineOptions {
  /** Conversation table size; fixed for the engine's life (default 65,536). */
  maxConversations?: number;
}

/**
 * The expiry sweep (so the table drains without a timer) walks every conversation number about
 * once per SWEEP_PERIOD_MS of packet time, spread over the batches: at a high packet rate a batch
 * pays for a few numbers, not for one per packet. An idle conversation therefore ends within
 * about that long after its timeout (at once when a packet of it arrives).
 */
const SWEEP_PERIOD_MS = 1000;
/** Numbers looked at per batch at most, so the first batch after a long pause stays short. */
const SWEEP_MAX_PER_BATCH = 4096;
/**
 * Conversation times are uint32 ms since an epoch. When `now` passes 2^31 ms (~25 days) the epoch
 * moves forward so that `now` is 2^30 again (older times clamp to 0): differences never wrap.
 */
const REBASE_AT = 2 ** 31;
const REBASE_KEEP = 2 ** 30;
/** Reply keys are warmed when the previous batch opened at least 1/WARM_REPLIES_FROM of its packets' conversations. */
const WARM_REPLIES_FROM = 16;
/** How WinDivert and Linux's OUTPUT hook report a packet to a local address. */
const LOOPBACK_OUT = PacketFlag.Outbound | PacketFlag.Loopback;

export class Engine {
  private rules: CompiledRule[] = [];
  /** Which of `rules` a first packet can match. */
  private candidates = new RuleIndex([]);
  /** Counter slot of each compiled rule (same order as `rules`). */
  private ruleSlots: Int32Array = new Int32Array(0);
  private epochMs = Number.NaN;
  /** Table time the sweep was last paid up to, and the numbers it owes (fractional). */
  private sweptAt = 0;
  private sweepOwed = 0;
  private tcpTimeoutMs = 300_000;
  private udpTimeoutMs = 60_000;
  private readonly table: ConversationTable;
  private readonly counterTable = new RuleCounterTable();
  private readonly pv = new PacketView();
  private readonly key = new Uint32Array(Layout.RECORD_WORDS);
  /** The batch's plain IPv4 packets, parsed in a first pass. */
  private readonly batchKeys = new BatchKeys();
  /** Sum of the slot words the touch loop read: stored so the reads are not optimized away. */
  touched = 0;
  private readonly replyWarmup = new ReplyWarmup();
  /** Conversations opened so far, and up to the batch before (see `process`). */
  private opened = 0;
  private openedBefore = 0;
  /** The three role records of a conversation being opened, before the table places them. */
  private readonly draft = new Uint32Array(Layout.ROLES * Layout.RECORD_WORDS);
  private readonly stat: EngineStats = {
    conversations: 0,
    evictions: 0,
    malformed: 0,
    expired: 0,
    fragments: 0,
    unsupported: 0,
    collisions: 0,
    emitOverflow: 0,
  };

  constructor(options: EngineOptions = {}) {
    const max = options.maxConversations ?? 65_536;
    if (!Number.isInteger(max) || max < 1 || max > MAX_CONVERSATIONS) {
      throw new RangeError(`maxConversations must be an integer in 1..${MAX_CONVERSATIONS}, got ${max}`);
    }
    this.table = new ConversationTable(max, (slot) => {
      this.counterTable.conversationChange(slot, -1);
    });
  }

  /** Compiles and installs a rule list; on any error nothing changes and the errors say why. */
  apply(input: ApplyInput): ApplyResult {
    const { rules, errors } = compileRules(input);
    if (errors.length > 0) return { ok: false, errors };
    const candidates = new RuleIndex(rules);
    this.ruleSlots = this.counterTable.bind(
      rules.map((r) => r.id),
      rules.map((r) => r.index),
    );
    this.rules = rules;
    this.candidates = candidates;
    this.tcpTimeoutMs = input.settings.tcpTimeoutS * 1000;
    this.udpTimeoutMs = input.settings.udpTimeoutS * 1000;
    return { ok: true, errors: [] };
  }

  counters(): RuleCounters[] {
    return this.counterTable.snapshot();
  }

  stats(): EngineStats {
    return { ...this.stat, conversations: this.table.active };
  }

  /**
   * Traffic a data plane carried for a rule without the engine (the Linux kernel rules, which
   * run a whole rule as kernel NAT): counts packets and bytes in one direction and `conversations`
   * new ones for rule `ruleId` (its conversations never enter the engine's table, so they are not
   * in `conversationsActive`). False when no counter slot holds that id (a rule no longer listed).
   */
  addRuleTraffic(ruleId: string, outbound: boolean, packets: number, bytes: number, conversations: number, nowMs: number): boolean {
    const slot = this.counterTable.slotOf(ruleId);
    if (slot < 0) return false;
    if (packets > 0 || bytes > 0) this.counterTable.add(slot, outbound, packets, bytes, nowMs);
    if (conversations > 0) this.counterTable.conversationsOpened(slot, conversations);
    return true;
  }

  /**
   * Traffic a data plane carried for a conversation outside `process` (the Linux kernel fast
   * path, docs/linux-dataplane.md): counts it for the conversation's rule and keeps the
   * conversation alive, as if those packets had been processed. `tuple` is the key of that
   * direction's packets as they arrive: source words 0-3, destination words 0-3 (IPv4: word 0
   * only), then source port << 16 | destination port. False when the engine no longer holds
   * the conversation (expired, evicted): the data plane must stop carrying it then.
   */
  addOffloaded(ipv6: boolean, protocol: number, outbound: boolean, tuple: Uint32Array, packets: number, bytes: number, nowMs: number): boolean {
    const key = this.key;
    key[K.META] = Meta.USED | (ipv6 ? Meta.IPV6 : 0) | (outbound ? Meta.OUTBOUND : 0) | protocol;
    for (let w = 0; w < 4; w++) {
      key[K.SRC + w] = ipv6 || w === 0 ? tuple[w]! : 0;
      key[K.DST + w] = ipv6 || w === 0 ? tuple[4 + w]! : 0;
    }
    key[K.PORTS] = tuple[8]!;
    const table = this.table;
    const slot = table.find(key, 0, hashKey(key, 0));
    const now = this.tableTime(nowMs);
    if (slot < 0 || table.isExpired(slot, now, this.tcpTimeoutMs, this.udpTimeoutMs)) return false;
    if (packets === 0) return true;
    const c = table.conversationAt(slot);
    table.conv[c * CONV.WORDS + CONV.SEEN] = now;
    const counter = table.conv[c * CONV.WORDS + CONV.COUNTER]! & CONV.COUNTER_MASK;
    this.counterTable.add(counter, outbound, packets, bytes, nowMs);
    return true;
  }

  /**
   * Handles every packet of `batch`; clones are appended to `emitted` (not cleared here).
   *
   * Three passes: the first parses the batch's plain IPv4 packets into key columns and hashes them
   * (BatchKeys); a tight loop then reads each key's home slot and conversation entry, independent
   * loads whose cache misses the CPU overlaps; the main pass finds them in cache. Other packets
   * (IPv6, VLAN, malformed …) are parsed in the main pass.
   */
  process(batch: PacketBatch, emitted: PacketBatch, nowMs: number): void {
    const now = this.tableTime(nowMs);
    this.stat.expired += this.table.sweep(this.sweepBudget(now), now, this.tcpTimeoutMs, this.udpTimeoutMs);
    this.batchKeys.fill(batch, this.table.scale);
    this.touched = this.table.touch(this.batchKeys.cols, batch.count, BK.WORDS, BK.HOME);
    // When the previous batch was rich in first packets, this one probably is too: warm their
    // reply keys' slots (a lookup per packet more, paid only then).
    if ((this.opened - this.openedBefore) * WARM_REPLIES_FROM >= batch.count) {
      this.replyWarmup.warm(batch, this.batchKeys.cols, this.table, this.rules, this.candidates);
    }
    this.openedBefore = this.opened;
    this.handleBatch(batch, emitted, nowMs, now);
  }

  /**
   * The main pass of `process`. A function of its own, too large for V8 to inline into `process`:
   * a path of the passes before it that runs for the first time (the sweep's first expiry, say)
   * then throws away only `process`'s optimized code, not this loop's.
   */
  private handleBatch(batch: PacketBatch, emitted: PacketBatch, nowMs: number, now: number): void {
    const table = this.table;
    const tcpMs = this.tcpTimeoutMs;
    const udpMs = this.udpTimeoutMs;
    // A number the loop stores as it is (a parameter would be checked for its type at every use).
    const hitMs = +nowMs;
    const data = batch.data;
    const dv = batch.view;
    const pv = this.pv;
    const key = this.key;
    const count = batch.count;
    const slots = table.slots;
    const convBase = table.convBase;
    const counters = this.counterTable.columns;
    const verdicts = batch.verdict;
    const ruleOf = batch.rule;
    const flagsOf = batch.flags;
    const cols = this.batchKeys.cols;
    /** The packet that just opened its conversation (handled once more, see below). */
    let reopened = -1;
    for (let i = 0; i < count; i++) {
      const at = i * BK.WORDS;
      const l3 = cols[at + BK.L3]!;
      const flags = cols[at + BK.FLAGS]!;
      let slot = -1;
      if (l3 !== BK.NONE) {
        const kind = cols[at + BK.KIND]!;
        slot = table.findV4(kind, cols[at + BK.SRC]!, cols[at + BK.DST]!, cols[at + BK.PORTS]!, cols[at + BK.HOME]!);
        if (slot >= 0) {
          const slotAt = slot * S.WORDS;
          const tag = slots[slotAt]!;
          const convAt = convBase + ((tag & TAG.REF_MASK) >>> TAG.REF_SHIFT) * CONV.WORDS;
          const counterWord = slots[convAt + CONV.COUNTER]!;
          const control = (tag >>> TAG.CONTROL_SHIFT) & TAG.CONTROL_MASK;
          if (now - slots[convAt + CONV.SEEN]! > ((counterWord & CONV.UDP_BIT) === 0 ? tcpMs : udpMs)) {
            table.release((convAt - convBase) / CONV.WORDS);
            this.stat.expired++;
            slot = -1;
          } else if ((control & (CONTROL.ACTION | CONTROL.MACS)) === Action.Rewrite) {
            // The common case written out: an IPv4 rewrite in place (no clone, no MACs). Every
            // read comes before the first write: V8 checks each array once per packet that way.
            // rewriteIpv4 is written out too: V8 would not inline it here (its call boxed the
            // uint32 arguments above 2^31 into heap numbers).
            const counterAt = (counterWord & CONV.COUNTER_MASK) * COUNTER.WORDS;
            const directionAt = counterAt + ((flags & Flag.Outbound) !== 0 ? COUNTER.OUT : 0);
            const packets = counters[directionAt + COUNTER.PACKETS]!;
            const bytes = counters[directionAt + COUNTER.BYTES]!;
            const rule = counters[counterAt + COUNTER.RULE]!;
            const length = cols[at + BK.LENGTH]!;
            const l4 = cols[at + BK.L4]!;
            const outSrc = slots[slotAt + S.OUT_SRC]!;
            const outDst = slots[slotAt + S.OUT_DST]!;
            const outPorts = slots[slotAt + S.OUT_PORTS]!;
            const deltas = slots[slotAt + S.DELTAS]!;
            const tcp = (kind & TAG.UDP) === 0;
            const checksumAt = l4 + (tcp ? TCP.CHECKSUM : UDP.CHECKSUM);
            const ipChecksum = dv.getUint16(l3 + IPV4.CHECKSUM);
            const checksum = dv.getUint16(checksumAt);
            const verdict = (control >>> CONTROL.VERDICT_SHIFT) & 3;
            slots[convAt + CONV.SEEN] = now;
            counters[directionAt + COUNTER.PACKETS] = packets + 1;
            counters[directionAt + COUNTER.BYTES] = bytes + length;
            counters[counterAt + COUNTER.LAST_HIT] = hitMs;
            dv.setUint32(l3 + IPV4.SOURCE, outSrc);
            dv.setUint32(l3 + IPV4.DESTINATION, outDst);
            dv.setUint32(l4, outPorts);
            // applyDelta written out: one fold suffices, the sum of two 16-bit values is < 2^17.
            let sum = (~ipChecksum & 0xffff) + (deltas >>> IP_CHECKSUM_SHIFT);
            dv.setUint16(l3 + IPV4.CHECKSUM, ~(sum + (sum >>> 16)) & 0xffff);
            if (tcp || checksum !== 0) {
              sum = (~checksum & 0xffff) + (deltas & 0xffff);
              const updated = ~(sum + (sum >>> 16)) & 0xffff;
              // UDP: 0 means "no checksum" and stays 0; a computed 0 is sent as 0xffff (RFC 768).
              dv.setUint16(checksumAt, tcp || updated !== 0 ? updated : 0xffff);
            }
            ruleOf[i] = rule;
            verdicts[i] = verdict;
            flagsOf[i] = (flags & ~Flag.Outbound) | ((control >>> CONTROL.DIRECTION_SHIFT) & 1);
            if (verdict === Code.Reroute) {
              const adapter = table.adapter[tag & TAG.REF_MASK]!;
              if (adapter !== Layout.KEEP_ADAPTER) batch.ifIndex[i] = adapter;
            }
            continue;
          } else {
            batch.verdict[i] = Verdict.Accept;
            pv.quickIpv4((flags & Flag.Layer2) !== 0 ? batch.offset[i]! : -1, l3, cols[at + BK.L4]!, (kind & TAG.UDP) === 0 ? IpProtocol.Tcp : IpProtocol.Udp);
            this.handle(batch, i, emitted, slot, nowMs, now);
            continue;
          }
        }
      }
      batch.verdict[i] = Verdict.Accept;
      batch.rule[i] = -1;
      const outbound = flags & Flag.Outbound;
      const status = pv.parseView(dv, batch.offset[i]!, batch.length[i]!, (flags & Flag.Layer2) !== 0);
      if (status !== ParseStatus.Ok) {
        if (status === ParseStatus.Malformed) this.stat.malformed++;
        else if (status === ParseStatus.Fragment) this.stat.fragments++;
        else if (status === ParseStatus.Unsupported) this.stat.unsupported++;
        continue;
      }
      this.fillKey(dv, outbound);
      // Hashed here only for the lookup the quick path did not make; a first packet hashes at open.
      let hash = -1;
      if (l3 === BK.NONE) {
        hash = hashKey(key, 0);
        slot = table.find(key, 0, hash);
        if (slot >= 0 && table.isExpired(slot, now, tcpMs, udpMs)) {
          table.release(table.conversationAt(slot));
          this.stat.expired++;
          slot = -1;
        }
      }
      if (slot < 0) {
        // A first packet (an IPv4 one was looked up above).
        let r = matchRule(this.rules, this.candidates, pv, data, dv, outbound, batch.ifIndex[i]!);
        let as = outbound;
        // A loopback packet leaves this host and arrives at it: outbound rules first, then inbound.
        const loopback = (flags & LOOPBACK_OUT) === LOOPBACK_OUT;
        if (r < 0 && loopback) {
          r = matchRule(this.rules, this.candidates, pv, data, dv, 0, batch.ifIndex[i]!);
          as = 0;
        }
        if (r < 0) continue;
        slot = this.open(r, hash >= 0 ? hash : hashKey(key, 0), batch.ifIndex[i]!, data, now, as, loopback);
        if (l3 !== BK.NONE && i !== reopened) {
          // Its key is in the table now: the packet goes through the loop again and takes the
          // quick path of established packets (the general `handle` costs more).
          reopened = i--;
          continue;
        }
      }
      this.handle(batch, i, emitted, slot, nowMs, now);
    }
  }

  /** Writes the key of the packet in `this.pv` to `this.key`. */
  private fillKey(dv: DataView, outbound: number): void {
    const pv = this.pv;
    const key = this.key;
    if (pv.family === 4) {
      key[K.META] = Meta.USED | (outbound ? Meta.OUTBOUND : 0) | pv.protocol;
      key[K.SRC] = dv.getUint32(pv.src);
      key[K.DST] = dv.getUint32(pv.dst);
      key[2] = key[3] = key[4] = key[6] = key[7] = key[8] = 0;
    } else {
      key[K.META] = Meta.USED | Meta.IPV6 | (outbound ? Meta.OUTBOUND : 0) | pv.protocol;
      for (let w = 0; w < 4; w++) {
        key[K.SRC + w] = dv.getUint32(pv.src + 4 * w);
        key[K.DST + w] = dv.getUint32(pv.dst + 4 * w);
      }
    }
    key[K.PORTS] = ((pv.srcPort << 16) | pv.dstPort) >>> 0;
  }

  /** Conversation numbers the sweep looks at in this batch (see SWEEP_PERIOD_MS). */
  private sweepBudget(now: number): number {
    const capacity = this.table.capacity;
    if (now > this.sweptAt) {
      this.sweepOwed = Math.min(capacity, this.sweepOwed + ((now - this.sweptAt) * capacity) / SWEEP_PERIOD_MS);
      this.sweptAt = now;
    }
    const budget = Math.min(Math.floor(this.sweepOwed), SWEEP_MAX_PER_BATCH);
    this.sweepOwed -= budget;
    return budget;
  }

  /** Milliseconds since the table's epoch for `nowMs`, moving the epoch when it grows too large. */
  private tableTime(nowMs: number): number {
    if (Number.isNaN(this.epochMs)) this.epochMs = nowMs;
    let since = Math.floor(nowMs - this.epochMs);
    if (since < 0) since = 0; // a clock that steps back only makes conversations look younger
    if (since >= REBASE_AT) {
      const by = since - REBASE_KEEP;
      this.table.rebase(by);
      this.sweptAt = Math.max(0, this.sweptAt - by);
      this.epochMs += by;
      since -= by;
    }
    return since;
  }

  /**
   * Creates the conversation for the first packet (key in `this.key`, hash `hash`, known to be
   * absent from the table); returns the slot of its role 0.
   */
  private open(r: number, hash: number, ifIndex: number, data: Uint8Array, now: number, as: number, loopback: boolean): number {
    const table = this.table;
    const rule = this.rules[r]!;
    const c = table.allocate(now, this.tcpTimeoutMs, this.udpTimeoutMs, this.stat);
    this.opened++;
    const draft = this.draft;
    const key = this.key;
    const meta = key[K.META]!;
    // The rule's direction decides local and remote; `as` differs only for loopback (inbound rule).
    key[K.META] = as ? meta | Meta.OUTBOUND : meta & ~Meta.OUTBOUND;
    describeConversation(draft, table.macs, table.out6, c, rule, key, this.pv, data, ifIndex);
    key[K.META] = meta;
    if (loopback) stayOnLoopback(draft, rule.toAdapter >= 0);
    // The reverse key's home slot is a cache miss of its own: start the load now, use it in claim.
    const reverseHash = hashKey(draft, Layout.RECORD_WORDS);
    this.touched = table.slots[table.home(reverseHash) * S.WORDS]!;
    const slot = this.ruleSlots[r]!;
    // Read by `place` from role 0's record only (they are per conversation).
    draft[R.SLOT] = slot;
    draft[R.LAST_SEEN] = now;
    const at1 = Layout.RECORD_WORDS;
    const at2 = 2 * Layout.RECORD_WORDS;
    table.place(draft, 0, hash, c, 0);
    // A reverse key equal to the forward one (a packet bounced to its sender) adds nothing.
    const reverse = !sameKey(draft, at1, 0);
    // Replies to a copy that look exactly like replies to the original are the original's.
    const originalReplies = rule.clone && !sameKey(draft, at2, 0);
    if (reverse && !(originalReplies && sameKey(draft, at2, at1))) this.claim(c, 1, at1, reverseHash);
    if (originalReplies) this.claim(c, 2, at2, hashKey(draft, at2));
    this.counterTable.conversationChange(slot, 1);
    return table.roleSlot[c * TAG.REF_STRIDE]!;
  }

  /** Places role `role` of c (key hash `hash`), first ending any other conversation that holds the same key. */
  private claim(c: number, role: number, at: number, hash: number): void {
    const table = this.table;
    const draft = this.draft;
    const other = table.find(draft, at, hash);
    if (other >= 0) {
      table.release(table.conversationAt(other));
      this.stat.collisions++;
    }
    table.place(draft, at, hash, c, role);
  }

  private handle(batch: PacketBatch, i: number, emitted: PacketBatch, slot: number, nowMs: number, now: number): void {
    const table = this.table;
    const at = slot * S.WORDS;
    const tag = table.slots[at]!;
    const control = (tag >>> TAG.CONTROL_SHIFT) & TAG.CONTROL_MASK;
    const action = control & 3;
    const ref = tag & TAG.REF_MASK;
    const c = ref >>> TAG.REF_SHIFT;
    const conv = table.conv;
    conv[c * CONV.WORDS + CONV.SEEN] = now;
    const counter = conv[c * CONV.WORDS + CONV.COUNTER]! & CONV.COUNTER_MASK;
    const length = batch.length[i]!;
    this.counterTable.add(counter, (batch.flags[i]! & PacketFlag.Outbound) !== 0, 1, length, nowMs);
    batch.rule[i] = this.counterTable.ruleIndex[counter]!;
    if (action === Action.Accept) return;
    if (action === Action.Drop) {
      batch.verdict[i] = Verdict.Drop;
      return;
    }
    // Role 0 turns into role 1's key reversed and vice versa (kept in the slot / in out6).
    const role = ref & 1;
    const out6At = (c * 2 + role) * Layout.OUT6_WORDS;
    const macAt = (c * 2 + role) * Layout.MAC_PAIR;
    const verdict = (control >>> CONTROL.VERDICT_SHIFT) & 3;
    const outDir = (control >>> CONTROL.DIRECTION_SHIFT) & 1;
    const adapter = verdict === Verdict.Reroute ? table.adapter[ref]! : Layout.KEEP_ADAPTER;
    if (action === Action.Rewrite) {
      rewritePacket(batch.view, this.pv, 0, table.slots, at, control, table.out6, out6At, table.macs, macAt);
      batch.verdict[i] = verdict;
      batch.flags[i] = (batch.flags[i]! & ~PacketFlag.Outbound) | outDir;
      if (adapter !== Layout.KEEP_ADAPTER) batch.ifIndex[i] = adapter;
      return;
    }
    // Clone: the original goes on untouched; the copy is rewritten in the emitted batch.
    const j = emitted.pushFrom(batch.data, batch.offset[i]!, length, batch.flags[i]!, batch.ifIndex[i]!);
    if (j < 0) {
      this.stat.emitOverflow++;
      return;
    }
    rewritePacket(emitted.view, this.pv, emitted.offset[j]! - batch.offset[i]!, table.slots, at, control, table.out6, out6At, table.macs, macAt);
    emitted.verdict[j] = verdict;
    emitted.rule[j] = batch.rule[i]!;
    emitted.flags[j] = (emitted.flags[j]! & ~PacketFlag.Outbound) | outDir;
    if (adapter !== Layout.KEEP_ADAPTER) emitted.ifIndex[j] = adapter;
  }
}
