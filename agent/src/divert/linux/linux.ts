/**
 * The Linux data plane: netfilter hands the packets our steering rules select to NFQUEUE, we
 * copy them into the engine's batch, and give them back with batched verdicts (rewritten bytes go
 * back straight from the batch). Reflected and rerouted packets, and the engine's clones, leave
 * through raw sockets. Two queues ("lanes"): the main one takes GSO super-packets whole; the
 * loopback one has them cut by the kernel first, because over loopback a super-packet can exceed
 * what one netlink message carries. See docs/linux-dataplane.md for the policy choices.
 */
import { readFileSync } from 'node:fs';
import type { FieldError, Rule } from '@portfleet/proto';
import { type PacketBatch, PacketFlag, Verdict } from '../../engine/batch';
import { ParseStatus, PacketView } from '../../packet/view';
import { listAdapters } from '../adapters';
import type { AdapterInfo, DataPlane, DataPlaneCapabilities, DataPlaneSelection } from '../dataplane';
import { FastPath, type OffloadSink } from './fast-path';
import { FlowKind, TUPLE_WORDS } from './flow-table';
import { Injector } from './inject';
import { KernelRules } from './kernel-rules';
import { Lane } from './lane';
import { addressOf, check, libc, nativeBytes, POLLIN, SCHED_FIFO, SCHED_OTHER, SCHED_RESET_ON_FORK } from './libc';
import { Hook, QueueFlag, SkbInfo, SlotStatus } from './nfqueue';
import { Steering } from './steering';
import { fillTransportChecksum } from './transport-checksum';
import { NF_ACCEPT, NF_DROP } from './verdicts';

export interface LinuxDataPlaneOptions {
  /** NFQUEUE number of the main queue; the loopback queue is the next one. One agent per host. */
  queueNum?: number;
  /** Packets the kernel holds for us (NFQA_CFG_QUEUE_MAXLEN). */
  queueMaxLen?: number;
  /**
   * Fail-open (default): while no agent listens on the queue (crashed, stopped), packets pass
   * unmodified (`--queue-bypass`); fail-closed drops them. Either way a full queue drops (see
   * QueueFlag in nfqueue.ts for why NFQA_CFG_F_FAIL_OPEN is not used).
   */
  failOpen?: boolean;
  /** Take GSO super-packets whole (NFQA_CFG_F_GSO) while no rule needs injection (default true). */
  gso?: boolean;
  /** recvmmsg slots per receive call. */
  slots?: number;
  /** SO_MARK of injected packets (must not collide with the host's own marks). */
  mark?: number;
  /** Mark bit telling forwarded packets that travel from a rule's local end (see steering). */
  outboundMark?: number;
  /** Mark bit telling forwarded packets (see steering). */
  forwardedMark?: number;
  /**
   * Kernel fast path (docs/linux-dataplane.md "Fast path"): conversations the engine only
   * readdresses are handed to nftables after `after` packets per direction (default 8); counters
   * are read back every `pollMs` (default 1000). Active once `offloadTo(engine)` was called;
   * `false` turns it off.
   */
  fastPath?: { after?: number; pollMs?: number } | false;
  /**
   * For this long after the last packet (ms, default 1000; 0: never) the plane waits for the next
   * ones in `poll()` on the main thread itself, 2 ms at a time with a turn of the event loop at
   * least every 4 ms, so a packet wakes the thread that handles it. Otherwise (idle) the wait runs
   * on a koffi worker, whose wake-up of the event loop is a second thread hop (docs: "Wake-up").
   */
  nearMs?: number;
  /**
   * SCHED_FIFO priority (1–99) of the packet path, or 0 (default): the normal scheduler. The
   * thread that receives (Node's main thread) runs under it from a receive until it hands the
   * event loop a turn or waits idle: a first packet then waits for no other process to be taken
   * off the CPU (the kernel ways run in softirq and never wait), while timers and I/O — the
   * counter reads, the control plane — run under the normal scheduler. Needs CAP_SYS_NICE; see
   * docs/linux-dataplane.md "Real-time packet path".
   */
  realtime?: number;
  /**
   * Kernel rules (docs/linux-dataplane.md "Kernel rules (round 4)"): rules whose translation is a
   * destination rewrite and whose traffic no other rule can concern run as conntrack NAT in the
   * kernel, first packet included; their counters are read back every `pollMs` (default 1000).
   * Active once `offloadTo(engine)` was called; `false` turns it off.
   */
  kernelRules?: { pollMs?: number } | false;
}

/** Why the fields that need layer 2 cannot be honoured here (for reports and docs). */
export const LINUX_UNSUPPORTED = {
  layer2: 'NFQUEUE hands over packets at the network layer (IP header first): MAC addresses can be neither selected nor rewritten',
};

const DEFAULT_MARK = 0x5046_0000;
const DEFAULT_OUTBOUND_MARK = 0x0000_0800;
const DEFAULT_FORWARDED_MARK = 0x0000_0400;
const POLL_MS = 100;
/** A wait on the main thread (see `nearMs`) blocks it this long at most... */
const NEAR_BLOCK_MS = 2;
/** ...and lets the event loop have a turn at least this often. */
const NEAR_TURN_MS = 4;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

export class LinuxDataPlane implements DataPlane {
  readonly capabilities: DataPlaneCapabilities = { kind: 'nfqueue', layer2: false, reflection: true, adapters: true, clone: true };
  private readonly options: Required<LinuxDataPlaneOptions>;
  /** [main, loopback]; empty while closed. */
  private lanes: Lane[] = [];
  /** Lane that fills the next batch first (turns rotate so none starves). */
  private firstLane = 0;
  private injector: Injector | undefined;
  private readonly steering: Steering;
  private readonly pv = new PacketView();
  private readonly pollFds = nativeBytes(16);
  private polling: Promise<void> | undefined;
  private closed = true;
  private selected:
    | { rules: Rule[]; resolved: ReadonlyMap<string, string[]>; kernel: ReadonlySet<number>; timeouts: { tcpS: number; udpS: number } }
    | undefined;
  private loopbackIndex = 1;
  private adapterNames = new Map<number, string>();
  private localAddresses: string[] = [];
  /** Per batch index: its lane, NFQUEUE packet id and NFQA_SKB_INFO (sized to the batch's capacity). */
  private laneOf = new Uint8Array(0);
  private ids = new Uint32Array(0);
  private infos = new Uint32Array(0);
  /** Per batch index: the adapter it came through, to tell an engine-chosen adapter from it. */
  private arrivedOn = new Uint32Array(0);
  /**
   * Per batch index: 1 for a GSO super-packet headed for another host (sent, or forwarded); its
   * destination address words (4 per packet) are kept to see whether the engine changed them.
   */
  private gsoLeaving = new Uint8Array(0);
  private destination = new Uint32Array(0);
  /** Address of the last two batches' arenas (the pump reuses the same two for ever). */
  private batchData: Uint8Array | undefined;
  private batchAddress = 0;
  private emittedData: Uint8Array | undefined;
  private emittedAddress = 0;
  /** Set by `offloadTo`; started at `open` (both needed). */
  private offloadSink: OffloadSink | undefined;
  private fast: FastPath | undefined;
  private kernel: KernelRules | undefined;
  /** Per rule index of the selected list: 1 when its conversations may be offloaded. */
  private offloadable = new Uint8Array(0);
  /** Per batch index: the arriving tuple and its FlowKind | KEPT (0: not offloadable). */
  private tuples = new Uint32Array(0);
  private flowKind = new Uint8Array(0);
  private readonly rewritten = new Uint32Array(TUPLE_WORDS);
  /** When a receive last found packets, and when the event loop last had a turn from a near wait. */
  private lastPacketMs = 0;
  private lastTurnMs = 0;
  /** Whether the receiving thread is under SCHED_FIFO now (see `realtime`). */
  private fifo = false;
  /** Counters for stats and tests. */
  readonly counters = { received: 0, capped: 0, modified: 0, dropped: 0, rerouted: 0, emitted: 0, injectFailures: 0 };

  constructor(options: LinuxDataPlaneOptions = {}) {
    this.options = {
      queueNum: options.queueNum ?? 4242,
      queueMaxLen: options.queueMaxLen ?? 8192,
      failOpen: options.failOpen ?? true,
      gso: options.gso ?? true,
      slots: options.slots ?? 64,
      mark: options.mark ?? DEFAULT_MARK,
      outboundMark: options.outboundMark ?? DEFAULT_OUTBOUND_MARK,
      forwardedMark: options.forwardedMark ?? DEFAULT_FORWARDED_MARK,
      fastPath: options.fastPath ?? {},
      nearMs: options.nearMs ?? 1000,
      realtime: options.realtime ?? 0,
      kernelRules: options.kernelRules ?? {},
    };
    const { queueNum, mark, outboundMark, forwardedMark, failOpen } = this.options;
    if (!Number.isInteger(queueNum) || queueNum < 0 || queueNum > 65534) throw new RangeError(`queueNum must be an integer in 0..65534, got ${queueNum}`);
    this.steering = new Steering({ queueNum, loopbackQueueNum: queueNum + 1, mark, outboundMark, forwardedMark, failOpen });
  }

  /**
   * Lets conversations be offloaded to the kernel, reporting their traffic to `sink` (the engine
   * that processes this plane's packets). Call before `open`.
   */
  offloadTo(sink: OffloadSink): void {
    this.offloadSink = sink;
  }

  /** The kernel rules' counters (compiled: rules now in the kernel, applyFailures, reads), if on. */
  get kernelRuleStats(): KernelRules['stats'] | undefined {
    return this.kernel?.stats;
  }

  /** The fast path's counters (offloaded, expired, released, installFailures, nftRuns), if on. */
  get fastCounters(): FastPath['counters'] | undefined {
    return this.fast?.counters;
  }

  adapters(): Promise<AdapterInfo[]> {
    return listAdapters();
  }

  /** Removes what a crashed run left, binds the queues, then hooks our (still empty) chains in. */
  async open(): Promise<void> {
    await this.steering.cleanStale();
    await this.refreshAdapters();
    const { queueNum, queueMaxLen, gso, slots } = this.options;
    try {
      this.lanes.push(new Lane({ queueNum, maxLen: queueMaxLen, gso, slots }));
      this.lanes.push(new Lane({ queueNum: queueNum + 1, maxLen: queueMaxLen, gso: false, slots }));
    } catch (error) {
      for (const lane of this.lanes.splice(0)) lane.close();
      throw error;
    }
    this.injector = new Injector(this.options.mark, (ifIndex) => this.adapterNames.get(ifIndex));
    const poll = new DataView(this.pollFds.buffer);
    this.lanes.forEach((lane, k) => {
      poll.setInt32(k * 8, lane.queue.socket.fd, true);
      poll.setInt16(k * 8 + 4, POLLIN, true);
    });
    this.closed = false;
    try {
      if (this.options.realtime > 0) {
        // Fails here (not on the packet path) when the capability is missing.
        setScheduler(this.options.realtime);
        setScheduler(0);
      }
      const fastPath = this.options.fastPath;
      if (fastPath !== false && this.offloadSink) {
        this.fast = new FastPath({ mark: this.options.mark, ...fastPath }, this.offloadSink);
        this.fast.setLocalAddresses(this.localAddresses);
        await this.fast.start();
      }
      const kernelRules = this.options.kernelRules;
      if (kernelRules !== false && this.offloadSink) {
        this.kernel = new KernelRules(kernelRules, this.offloadSink);
        await this.kernel.cleanStale();
        this.kernel.start();
      }
      await this.steering.install();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Diverts what the list needs (called after the engine accepted it). GSO super-packets cannot
   * be injected through raw sockets, so they are taken whole only while no rule reflects,
   * reroutes to an adapter or clones. If the kernel refuses the new steering, the previous one
   * is put back and the error thrown (the apply fails as a whole).
   */
  async select(selection: DataPlaneSelection): Promise<FieldError[]> {
    const main = this.lanes[0];
    if (!main) throw new Error('LinuxDataPlane.select before open');
    const { rules, resolved } = selection;
    await this.refreshAdapters();
    // The kernel's NAT first, then steering that stops untracking and queueing those rules: a
    // packet in between is still untracked (NAT skips it) and handled in userspace.
    let kernel: ReadonlySet<number> = new Set();
    const timeouts = { tcpS: selection.settings.tcpTimeoutS, udpS: selection.settings.udpTimeoutS };
    if (this.kernel) kernel = await this.kernel.apply(rules, resolved, timeouts).catch(() => new Set<number>());
    try {
      await this.steering.apply(rules, resolved, kernel);
    } catch (error) {
      const previous = this.selected;
      if (previous) {
        if (this.kernel) await this.kernel.apply(previous.rules, previous.resolved, previous.timeouts).catch(() => undefined);
        await this.steering.apply(previous.rules, previous.resolved, previous.kernel).catch(() => undefined);
      }
      throw error;
    }
    this.selected = { rules, resolved, kernel, timeouts };
    // Only conversations the engine merely readdresses: clones, reflections, adapters and MAC
    // fields need userspace for every packet.
    this.offloadable = Uint8Array.from(rules, (r) =>
      r.enabled &&
      !r.forwardAs.clone &&
      (r.forwardAs.reflection ?? 'none') === 'none' &&
      r.forwardAs.adapter === undefined &&
      r.forwardAs.localMac === undefined &&
      r.forwardAs.remoteMac === undefined
        ? 1
        : 0,
    );
    this.fast?.setTimeouts({ tcpS: selection.settings.tcpTimeoutS, udpS: selection.settings.udpTimeoutS });
    const injects = rules.some(
      (r) => r.enabled && ((r.forwardAs.reflection ?? 'none') !== 'none' || r.forwardAs.adapter !== undefined || r.forwardAs.clone === true),
    );
    main.queue.setFlags(this.options.gso && !injects ? QueueFlag.Gso : 0);
    return [];
  }

  private async refreshAdapters(): Promise<void> {
    const adapters = await listAdapters();
    this.adapterNames = new Map(adapters.map((a) => [a.index, a.name]));
    this.localAddresses = adapters.flatMap((a) => a.addresses);
    this.fast?.setLocalAddresses(this.localAddresses);
    this.loopbackIndex = adapters.find((a) => a.name === 'lo')?.index ?? Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
  }

  async receive(batch: PacketBatch): Promise<boolean> {
    if (this.ids.length < batch.capacity) {
      this.laneOf = new Uint8Array(batch.capacity);
      this.ids = new Uint32Array(batch.capacity);
      this.infos = new Uint32Array(batch.capacity);
      this.arrivedOn = new Uint32Array(batch.capacity);
      this.gsoLeaving = new Uint8Array(batch.capacity);
      this.destination = new Uint32Array(batch.capacity * 4);
      this.tuples = new Uint32Array(batch.capacity * TUPLE_WORDS);
      this.flowKind = new Uint8Array(batch.capacity);
    }
    if (this.batchData !== batch.data) {
      this.batchData = batch.data;
      this.batchAddress = addressOf(batch.data);
    }
    while (!this.closed) {
      const lanes = this.lanes;
      const first = this.firstLane;
      this.firstLane = (first + 1) % lanes.length;
      for (let n = 0; n < lanes.length; n++) {
        const k = (first + n) % lanes.length;
        const lane = lanes[k]!;
        while (lane.refill()) {
          if (this.fill(batch, lane, k)) {
            this.lastPacketMs = Date.now();
            return true;
          }
          // What came after that receive waits for the next batch: asking again now would cost
          // a system call on every first packet's path, to find nothing nearly always.
          if (lane.drained) break;
        }
      }
      const now = Date.now();
      if (batch.count > 0) {
        this.lastPacketMs = now;
        return true;
      }
      if (now - this.lastPacketMs < this.options.nearMs) {
        if (now - this.lastTurnMs >= NEAR_TURN_MS) {
          this.realtime(false);
          await nextTurn();
          this.realtime(true);
          this.lastTurnMs = Date.now();
        } else {
          libc.poll(this.pollFds, lanes.length, NEAR_BLOCK_MS);
        }
        continue;
      }
      this.realtime(false);
      await this.waitReadable();
      this.realtime(true);
    }
    return false;
  }

  /** Copies ring packets of one lane into the batch; true when the batch is full. */
  private fill(batch: PacketBatch, lane: Lane, k: number): boolean {
    const { queue, verdicts } = lane;
    let stray = false;
    while (lane.ringNext < lane.ringCount) {
      const s = lane.ringNext;
      const status = queue.status[s]!;
      if (status === SlotStatus.None) {
        lane.ringNext++;
        continue;
      }
      const length = queue.payloadLength[s]!;
      if (status === SlotStatus.Capped || length > batch.data.length) {
        // Incomplete payload: returning it would trim the packet, so it passes untouched.
        verdicts.verdict(queue.id[s]!, NF_ACCEPT, 0, 0);
        this.counters.capped++;
        lane.saw(queue.id[s]!);
        stray = true;
        lane.ringNext++;
        continue;
      }
      const i = batch.count;
      if (i >= batch.capacity || batch.used + length > batch.data.length) break;
      const at = batch.used;
      libc.memcpyAt(this.batchAddress + at, queue.ringAddress + queue.payloadAt[s]!, length);
      const hook = queue.hook[s]!;
      const sent = hook === Hook.LocalOut || hook === Hook.PostRouting;
      // Forwarded packets are all seen arriving; steering marked those leaving a rule's local end.
      const mark = queue.mark[s]!;
      const outbound = sent || (mark & this.options.outboundMark) !== 0;
      const ifIndex = sent ? queue.outDev[s]! : queue.inDev[s]!;
      batch.offset[i] = at;
      batch.length[i] = length;
      batch.flags[i] = (outbound ? PacketFlag.Outbound : 0) | (ifIndex === this.loopbackIndex ? PacketFlag.Loopback : 0);
      batch.ifIndex[i] = ifIndex;
      this.arrivedOn[i] = ifIndex;
      batch.verdict[i] = Verdict.Accept;
      batch.rule[i] = -1;
      batch.used = at + length;
      batch.count = i + 1;
      this.laneOf[i] = k;
      lane.saw(queue.id[s]!);
      this.ids[i] = queue.id[s]!;
      const info = queue.skbInfo[s]!;
      this.infos[i] = info;
      // (Traffic between two local addresses has its own lane, which takes no GSO packets.)
      const leaving = (info & SkbInfo.Gso) !== 0 && (sent || (mark & this.options.forwardedMark) !== 0);
      this.gsoLeaving[i] = leaving ? 1 : 0;
      if (leaving) this.saveDestination(batch, i);
      // The main lane only: loopback conversations have their own semantics (engine docs).
      this.flowKind[i] = this.fast !== undefined && k === 0 ? this.saveTuple(batch, i, (sent ? FlowKind.OUTPUT_HOOK : 0) | (outbound ? FlowKind.OUTBOUND : 0)) : 0;
      this.counters.received++;
      lane.ringNext++;
    }
    if (stray) verdicts.flush();
    return lane.ringNext < lane.ringCount;
  }

  /** The packet path under SCHED_FIFO (`on`), the event loop's turns under the normal scheduler. */
  private realtime(on: boolean): void {
    if (this.options.realtime === 0 || on === this.fifo || (on && this.closed)) return;
    this.fifo = on;
    setScheduler(on ? this.options.realtime : 0);
  }

  private waitReadable(): Promise<void> {
    this.polling ??= new Promise<void>((resolve) => {
      libc.poll.async(this.pollFds, this.lanes.length, POLL_MS, () => {
        this.polling = undefined;
        resolve();
      });
    });
    return this.polling;
  }

  verdict(batch: PacketBatch): void {
    if (this.closed || batch.count === 0) return;
    const lanes = this.lanes;
    const injector = this.injector!;
    const now = Date.now();
    const data = batch.data;
    for (const lane of lanes) lane.accepts = false;
    for (let i = 0; i < batch.count; i++) {
      const id = this.ids[i]!;
      const lane = lanes[this.laneOf[i]!]!;
      const verdicts = lane.verdicts;
      // Each lane's packets came in its id order, so the last one seen has the highest id.
      lane.lastId = id;
      switch (batch.verdict[i]) {
        case Verdict.Accept:
          lane.accepts = true;
          break;
        case Verdict.AcceptModified: {
          const info = this.infos[i]!;
          // The field holds only the pseudo-header sum, and after a verdict with payload the
          // kernel no longer knows that: write the full sum. Exception: a GSO super-packet still
          // headed for another host, whose segments get their checksums when the kernel cuts it
          // up. (One delivered here stays whole, and TCP checks the sum as it is.)
          const partial = (info & SkbInfo.CsumNotReady) !== 0;
          const segmentedLater = this.gsoLeaving[i] === 1 && this.sameDestination(batch, i);
          if (partial && !segmentedLater) this.fullChecksum(batch, i);
          verdicts.verdict(id, NF_ACCEPT, this.batchAddress + batch.offset[i]!, batch.length[i]!);
          this.counters.modified++;
          const kind = this.flowKind[i]!;
          const r = batch.rule[i]!;
          if (kind !== 0 && r >= 0 && this.offloadable[r] === 1 && this.readTuple(batch, i, this.rewritten, 0, (kind & FlowKind.IPV6) !== 0)) {
            this.fast!.offer(kind & ~FlowKind.KEPT, this.tuples, i * TUPLE_WORDS, this.rewritten, 0, now);
          }
          break;
        }
        case Verdict.Reroute: {
          this.fullChecksum(batch, i);
          // Routing picks the way out (back to the sender for a reflection, local delivery for a
          // packet now inbound) unless the rule named an adapter for a packet leaving.
          const chosen = batch.ifIndex[i]!;
          const leaving = (batch.flags[i]! & PacketFlag.Outbound) !== 0;
          const ifIndex = leaving && chosen !== this.arrivedOn[i] && chosen !== this.loopbackIndex ? chosen : 0;
          if (!injector.sendIp(data, batch.offset[i]!, this.batchAddress + batch.offset[i]!, batch.length[i]!, ifIndex)) {
            this.counters.injectFailures++;
          }
          verdicts.verdict(id, NF_DROP, 0, 0);
          this.counters.rerouted++;
          break;
        }
        default:
          verdicts.verdict(id, NF_DROP, 0, 0);
          this.counters.dropped++;
      }
    }
    // Offloads this batch made ready go into the kernel before its verdicts leave: the replies to
    // a conversation's first packet then already find their entries (one transaction per batch,
    // its answer read after the verdicts).
    this.fast?.beforeVerdicts();
    // One batch verdict per lane accepts the rest (ids verdicted one by one above are gone).
    for (const lane of lanes) {
      if (lane.accepts) lane.verdicts.acceptUpTo(lane.lastId);
      lane.verdicts.flush();
    }
    this.fast?.afterVerdicts();
  }

  inject(emitted: PacketBatch): void {
    if (this.closed || emitted.count === 0) return;
    if (this.emittedData !== emitted.data) {
      this.emittedData = emitted.data;
      this.emittedAddress = addressOf(emitted.data);
    }
    const injector = this.injector!;
    for (let i = 0; i < emitted.count; i++) {
      const at = emitted.offset[i]!;
      const flags = emitted.flags[i]!;
      let ok: boolean;
      if ((flags & PacketFlag.Layer2) !== 0) {
        ok = injector.sendFrame(this.emittedAddress + at, emitted.length[i]!, emitted.ifIndex[i]!);
      } else {
        // A clone goes where its (rewritten) destination routes.
        this.fullChecksum(emitted, i);
        ok = injector.sendIp(emitted.data, at, this.emittedAddress + at, emitted.length[i]!, 0);
      }
      if (ok) this.counters.emitted++;
      else this.counters.injectFailures++;
    }
  }

  /**
   * Keeps the arriving tuple of packet i (before the engine rewrites it); returns its FlowKind
   * with KEPT set (and FIN, RST, SYN for those TCP flags), or 0 when it cannot be offloaded (not TCP/UDP, a fragment, IPv6 extension
   * headers).
   */
  private saveTuple(batch: PacketBatch, i: number, kind: number): number {
    const at = batch.offset[i]!;
    const v6 = batch.data[at]! >>> 4 === 6;
    const protocol = batch.data[at + (v6 ? 6 : 9)]!;
    if (protocol !== 6 && protocol !== 17) return 0;
    if (!v6 && (batch.view.getUint16(at + 6) & 0x3fff) !== 0) return 0;
    if (!this.readTuple(batch, i, this.tuples, i * TUPLE_WORDS, v6)) return 0;
    if (protocol === 6) {
      const flagsAt = v6 ? 40 + 13 : (batch.data[at]! & 15) * 4 + 13;
      const flags = flagsAt < batch.length[i]! ? batch.data[at + flagsAt]! : 0;
      kind |= (flags & TCP_FIN ? FlowKind.FIN : 0) | (flags & TCP_RST ? FlowKind.RST : 0) | ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN ? FlowKind.SYN : 0);
    }
    return kind | FlowKind.KEPT | (v6 ? FlowKind.IPV6 : 0) | (protocol === 17 ? FlowKind.UDP : 0);
  }

  /** Reads packet i's addresses and ports into `to[toAt ..]` (TUPLE_WORDS); false if too short. */
  private readTuple(batch: PacketBatch, i: number, to: Uint32Array, toAt: number, v6: boolean): boolean {
    const at = batch.offset[i]!;
    const view = batch.view;
    const l4 = v6 ? 40 : (batch.data[at]! & 15) * 4;
    if (batch.length[i]! < l4 + 4) return false;
    if (v6) {
      for (let w = 0; w < 4; w++) {
        to[toAt + w] = view.getUint32(at + 8 + 4 * w);
        to[toAt + 4 + w] = view.getUint32(at + 24 + 4 * w);
      }
    } else {
      to[toAt] = view.getUint32(at + 12);
      to[toAt + 4] = view.getUint32(at + 16);
      to[toAt + 1] = to[toAt + 2] = to[toAt + 3] = to[toAt + 5] = to[toAt + 6] = to[toAt + 7] = 0;
    }
    to[toAt + 8] = view.getUint32(at + l4);
    return true;
  }

  private saveDestination(batch: PacketBatch, i: number): void {
    const at = batch.offset[i]!;
    const v6 = batch.data[at]! >>> 4 === 6;
    const view = batch.view;
    const d = this.destination;
    d[i * 4] = view.getUint32(at + (v6 ? 24 : 16));
    d[i * 4 + 1] = v6 ? view.getUint32(at + 28) : 0;
    d[i * 4 + 2] = v6 ? view.getUint32(at + 32) : 0;
    d[i * 4 + 3] = v6 ? view.getUint32(at + 36) : 0;
  }

  private sameDestination(batch: PacketBatch, i: number): boolean {
    const at = batch.offset[i]!;
    const v6 = batch.data[at]! >>> 4 === 6;
    const view = batch.view;
    const d = this.destination;
    if (view.getUint32(at + (v6 ? 24 : 16)) !== d[i * 4]) return false;
    return !v6 || (view.getUint32(at + 28) === d[i * 4 + 1] && view.getUint32(at + 32) === d[i * 4 + 2] && view.getUint32(at + 36) === d[i * 4 + 3]);
  }

  private fullChecksum(batch: PacketBatch, i: number): void {
    const layer2 = (batch.flags[i]! & PacketFlag.Layer2) !== 0;
    if (this.pv.parse(batch.data, batch.offset[i]!, batch.length[i]!, layer2) === ParseStatus.Ok) {
      fillTransportChecksum(batch.data, this.pv);
    }
  }

  /** Stops diverting (our rules go), then lets the queue go. */
  async close(): Promise<void> {
    if (this.closed && this.lanes.length === 0) return;
    this.closed = true;
    this.realtime(false);
    await this.polling;
    try {
      await this.fast?.stop();
      this.fast = undefined;
      await this.steering.remove();
      await this.kernel?.stop();
      this.kernel = undefined;
      for (const lane of this.lanes) lane.acceptRemaining();
    } finally {
      for (const lane of this.lanes.splice(0)) lane.close();
      this.injector?.close();
      this.injector = undefined;
    }
  }
}

const schedParam = new Uint8Array(4); // struct sched_param { int sched_priority; }

/** Puts the calling thread under SCHED_FIFO at `priority`, or (0) back under the normal scheduler. */
function setScheduler(priority: number): void {
  if (!Number.isInteger(priority) || priority < 0 || priority > 99) throw new RangeError(`realtime must be a SCHED_FIFO priority in 1..99, got ${priority}`);
  new DataView(schedParam.buffer).setInt32(0, priority, true);
  const policy = priority > 0 ? SCHED_FIFO | SCHED_RESET_ON_FORK : SCHED_OTHER;
  // pid 0: the calling thread only; threads it starts later (libuv's pool, koffi's workers) and
  // the processes it spawns (nft, iptables) get the normal scheduler.
  check('sched_setscheduler', libc.sched_setscheduler(0, policy, schedParam) as number);
}

/** Lets timers and I/O of the event loop run (a resolved promise would not: microtasks come first). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
