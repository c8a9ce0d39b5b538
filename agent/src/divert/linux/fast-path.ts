/**
 * The kernel fast path (issue 11, docs/linux-dataplane.md "Fast path"): once a direction of a
 * conversation has had `after` packets (default 1: its first) rewritten by the engine
 * (addresses/ports only, main lane), its translation — read off the packet before and after the
 * engine — and the reverse direction's (the exact inverse) are installed in nftables maps, and
 * the conversation's later packets are rewritten by the kernel without leaving it. Installs go out
 * as one nf_tables netlink transaction per received batch, after the engine and before the
 * batch's verdicts, so the answer to a first packet already finds its entry; `nft` (spawned)
 * creates and removes the table. Every `pollMs` the elements' counters are read back over netlink
 * and handed to the engine (`addOffloaded`), which counts them for the rule and keeps the
 * conversation alive; an entry the engine no longer holds is removed. Kernel elements carry the
 * protocol's timeout, restarted by the agent while they are used (every quarter timeout at most).
 * TCP FIN and RST stay in the kernel too: it puts the entry's mark into a set, read with the
 * counters, and once a conversation closed its elements time out a few counter reads later. One
 * that timed out is forgotten (its next packets return to the engine, which still decides the
 * conversation's fate: the kernel's expiry never comes later than the engine's).
 */
import { FlowKind, FlowState, FlowTable, TUPLE_WORDS } from './flow-table';
import { type ElementChange, endChange, entryChanges, lookupChange, MAX_CHANGES_PER_TRANSACTION, NftNetlink, removalChanges } from './fast-path-netlink';
import { deleteTableScript, type FlowEntry, tableScript } from './fast-path-nft';
import { runNft } from './nft-command';
import { parseAddressWords } from '../../packet/address-text';
import type { RuleTrafficSink } from './kernel-rules';

const FAST_PATH = 'the Linux fast path';

/** What the fast path reports kernel-carried traffic to (the engine). */
export interface OffloadSink extends RuleTrafficSink {
  addOffloaded(ipv6: boolean, protocol: number, outbound: boolean, tuple: Uint32Array, packets: number, bytes: number, nowMs: number): boolean;
}

export interface FastPathOptions {
  /** The injection mark (its low 16 bits must be clear: they carry the entry number). */
  mark: number;
  /** Packets of a direction the engine rewrites before it and its reverse are offloaded (1: from the first packet). */
  after?: number;
  /** How often kernel counters are read back (ms). */
  pollMs?: number;
  /** Entries at most (≤ 65,535). */
  capacity?: number;
}

/** Element changes of one entry's install at most: four rewrite fields and the lookup. */
const ENTRY_CHANGES_MAX = 5;
/** A direction seen in userspace but never offloaded is forgotten after this long without packets. */
const COUNTING_IDLE_MS = 10_000;
/**
 * Once a read saw a conversation close (a RST, or both FINs), both directions' elements time out
 * this many counter reads later: the last ACKs have gone by and been read back by then (the
 * kernel drops an element's counter with it), and the entry numbers come free for the next
 * connections instead of after the TCP timeout.
 */
const CLOSING_LINGER_POLLS = 3;

export class FastPath {
  readonly flows: FlowTable;
  readonly counters = { offloaded: 0, expired: 0, released: 0, installFailures: 0, pollFailures: 0, transactions: 0 };
  private readonly after: number;
  private readonly pollMs: number;
  private readonly lingerMs: number;
  private readonly mark: number;
  private timeouts = { tcpS: 300, udpS: 60 };
  private pending: number[] = [];
  /** Installs sent before the verdicts whose answer is read after them. */
  private sent: number[] = [];
  private leaving: { id: number; lookup: 'delete' | 'destroy' | 'keep' }[] = [];
  /** Whether this kernel deletes a set element that may be absent (NFT_MSG_DESTROYSETELEM, 6.3+). */
  private destroys = false;
  private refreshing: number[] = [];
  /** Entries that saw a FIN or RST: their lookup elements get the closing linger as timeout. */
  private ending: number[] = [];
  /** Marks read from the kernel's FIN (> 0) and RST (< 0) sets, to be taken out of them. */
  private clearing: number[] = [];
  private localV4 = new Uint32Array(0);
  private localV6 = new Uint32Array(0);
  private pollTimer: NodeJS.Timeout | undefined;
  private open = false;
  private readonly scratch = new Uint32Array(TUPLE_WORDS);
  /** Per entry number, filled by each counter read. */
  private readonly present: Uint8Array;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  /** Per entry number: counter reads in a row that did not list it. */
  private readonly missed: Uint8Array;
  private netlink: NftNetlink | undefined;

  constructor(
    options: FastPathOptions,
    private readonly sink: OffloadSink,
  ) {
    if ((options.mark & 0xffff) !== 0) throw new RangeError(`the fast path needs an injection mark with its low 16 bits clear, got 0x${options.mark.toString(16)}`);
    this.mark = options.mark >>> 0;
    this.after = options.after ?? 1;
    this.pollMs = options.pollMs ?? 1000;
    this.lingerMs = CLOSING_LINGER_POLLS * this.pollMs;
    this.flows = new FlowTable(options.capacity);
    this.present = new Uint8Array(this.flows.capacity + 1);
    this.packets = new Float64Array(this.flows.capacity + 1);
    this.bytes = new Float64Array(this.flows.capacity + 1);
    this.missed = new Uint8Array(this.flows.capacity + 1);
  }

  /** Creates the table (replacing what a crashed run left) and starts reading counters. */
  async start(): Promise<void> {
    await runNft(tableScript(this.mark, this.flows.capacity), FAST_PATH);
    this.netlink = new NftNetlink();
    this.destroys = this.netlink.canDestroy();
    this.open = true;
    this.pollTimer = setInterval(() => {
      try {
        this.poll();
      } catch {
        this.counters.pollFailures++;
      }
    }, this.pollMs);
  }

  /** The inactivity timeouts of the rule list applied (used from the next install or refresh). */
  setTimeouts(timeouts: { tcpS: number; udpS: number }): void {
    this.timeouts = { ...timeouts };
  }

  /**
   * The addresses of this host: a reply to a packet rewritten towards one of them is sent by this
   * host (output hook), any other arrives (prerouting). Called at open and at every apply.
   */
  setLocalAddresses(addresses: readonly string[]): void {
    const v4: number[] = [];
    const v6: number[] = [];
    for (const text of addresses) {
      const parsed = parseAddressWords(text);
      if (parsed?.family === 4) v4.push(parsed.words[0]!);
      else if (parsed) v6.push(...parsed.words);
    }
    this.localV4 = Uint32Array.from(v4);
    this.localV6 = Uint32Array.from(v6);
  }

  /**
   * The packet path: a packet of kind `kind` arrived as `input[inAt ..]` and the engine rewrote it
   * (addresses/ports only) to `output[outAt ..]`. Counts the direction; once it has had `after`
   * packets, queues its install together with the other direction's, which is the exact inverse
   * (docs/engine.md "Conversations"), so replies never cross to userspace. A TCP FIN or RST
   * (`FlowKind.FIN`, `RST`) of a direction not in the kernel keeps it from going there.
   * No allocation.
   */
  offer(kind: number, input: Uint32Array, inAt: number, output: Uint32Array, outAt: number, nowMs: number): void {
    if (!this.open) return;
    const ending = kind & (FlowKind.FIN | FlowKind.RST);
    const starting = (kind & FlowKind.SYN) !== 0;
    kind &= ~(FlowKind.FIN | FlowKind.RST | FlowKind.SYN);
    const flows = this.flows;
    let e = flows.find(kind, input, inAt);
    if (e !== 0 && flows.state[e] !== FlowState.Counting) {
      if (ending !== 0 && flows.state[e] === FlowState.Installed) this.ends(e, ending);
      return; // on its way into the kernel, or in it: packets queued before the install
    }
    if (ending !== 0) {
      // A direction that is ending is not worth an install (nor are its last ACKs).
      if (e !== 0) flows.finished[e] = 1;
      return;
    }
    if (e === 0) {
      e = flows.add(kind, input, inAt);
      if (e === 0) return; // full: this direction stays in userspace
    }
    flows.lastMs[e] = nowMs;
    if (starting) {
      // A new connection on a tuple seen before (ports are reused) counts from its own first packet.
      flows.seen[e] = 0;
      flows.finished[e] = 0;
    }
    if (flows.finished[e] === 1 || ++flows.seen[e]! < this.after) return;
    flows.state[e] = FlowState.Pending;
    // The translation of the last packet is the one installed (a replaced conversation may differ).
    flows.output.set(output.subarray(outAt, outAt + TUPLE_WORDS), e * TUPLE_WORDS);
    this.pending.push(e);
    this.pairReply(e, nowMs);
  }

  /**
   * Queues the install of the direction the replies to entry `e`'s output arrive in: key = that
   * output turned around, translation = `e`'s input turned around, opposite engine direction,
   * output hook when the output went to this host.
   */
  private pairReply(e: number, nowMs: number): void {
    const flows = this.flows;
    const kind = flows.kind[e]!;
    const at = e * TUPLE_WORDS;
    const reply = this.scratch;
    turnAround(flows.output, at, reply, 0);
    const v6 = (kind & FlowKind.IPV6) !== 0;
    // The reply's source is the output's destination: when that is this host, this host sends it.
    const replyKind = (kind & (FlowKind.IPV6 | FlowKind.UDP)) | (kind & FlowKind.OUTBOUND ? 0 : FlowKind.OUTBOUND) | (this.isLocal(v6, reply, 0) ? FlowKind.OUTPUT_HOOK : 0);
    let r = flows.find(replyKind, reply, 0);
    if (r === 0) {
      r = flows.add(replyKind, reply, 0);
      if (r === 0) return; // full: the replies stay in userspace
    } else if (flows.state[r] !== FlowState.Counting) {
      // Already on its way or in the kernel. With another translation it belongs to a
      // conversation this one replaced (a collision, docs/engine.md): that one goes, and these
      // replies come through the engine until the next of them offers the entry again.
      const state = flows.state[r];
      if (isTurnedAround(flows.output, r * TUPLE_WORDS, flows.input, at)) {
        if (flows.partner[r] === 0) {
          flows.partner[r] = e;
          flows.partner[e] = r;
        }
      } else if (state === FlowState.Installed || state === FlowState.Closing) {
        flows.state[r] = FlowState.Leaving;
        this.leaving.push({ id: r, lookup: 'delete' });
        this.counters.released++;
      }
      return;
    }
    turnAround(flows.input, at, flows.output, r * TUPLE_WORDS);
    flows.lastMs[r] = nowMs;
    flows.state[r] = FlowState.Pending;
    flows.partner[r] = e;
    flows.partner[e] = r;
    this.pending.push(r);
  }

  /**
   * A FIN or RST of offloaded direction `e`. After a RST, or once both directions sent their FIN
   * (a half-closed conversation may still carry a lot the other way), both directions stay in the
   * kernel only a few counter reads more.
   */
  private ends(e: number, flags: number): void {
    const flows = this.flows;
    const r = flows.partner[e]!;
    if ((flags & FlowKind.RST) === 0) {
      flows.finished[e] = 1;
      if (r === 0 || flows.finished[r] === 0) return;
    }
    flows.state[e] = FlowState.Closing;
    this.ending.push(e);
    if (r !== 0 && flows.state[r] === FlowState.Installed) {
      flows.state[r] = FlowState.Closing;
      this.ending.push(r);
    }
  }

  /** Whether the address at `tuple[at ..]` is one of this host's. */
  private isLocal(v6: boolean, tuple: Uint32Array, at: number): boolean {
    if (!v6) return this.localV4.includes(tuple[at]!);
    const local = this.localV6;
    for (let k = 0; k < local.length; k += 4) {
      if (local[k] === tuple[at] && local[k + 1] === tuple[at + 1] && local[k + 2] === tuple[at + 2] && local[k + 3] === tuple[at + 3]) return true;
    }
    return false;
  }

  /**
   * Called by the plane with a batch's verdicts ready but not sent: installs what became ready in
   * it (one netlink transaction, tens of µs), so the packets that answer them never cross. Not
   * later (a timer or the next loop turn): while packets keep coming the pump never yields to
   * those, and a flow would cross to userspace until its backlog drained. The usual case (only
   * installs, one transaction's worth) is written straight from the flow table and its answer
   * read in `afterVerdicts`: the kernel applied it inside the send, so the verdicts need not wait.
   */
  beforeVerdicts(): void {
    if (this.pending.length === 0 || !this.open || !this.netlink) return;
    // Closings only change a timeout: they ride along with the next install or counter read,
    // never delaying a packet by a transaction of their own.
    const other = this.leaving.length + this.refreshing.length + this.ending.length + this.clearing.length;
    if (other > 0 || this.pending.length * ENTRY_CHANGES_MAX > MAX_CHANGES_PER_TRANSACTION) {
      this.flush();
      return;
    }
    const netlink = this.netlink;
    const transaction = netlink.transaction;
    transaction.begin();
    for (const e of this.pending) transaction.putEntry(this.entry(e), this.timeoutOf(e) * 1000);
    this.counters.transactions++;
    try {
      netlink.send();
    } catch {
      this.flush(); // one by one, as for a refused transaction
      return;
    }
    const sent = this.sent;
    this.sent = this.pending;
    this.pending = sent;
  }

  /** Reads the answer to the batch's install (see `beforeVerdicts`); a refused one is retried entry by entry. */
  afterVerdicts(): void {
    const sent = this.sent;
    if (sent.length === 0 || !this.netlink) return;
    let ok = true;
    try {
      this.netlink.confirm();
    } catch {
      ok = false;
    }
    if (!ok) {
      // Nothing of it was applied: each entry on its own (a failed one stays in userspace).
      this.pending.push(...sent);
      sent.length = 0;
      this.flush();
      return;
    }
    const now = Date.now();
    for (const e of sent) this.installed(e, now);
    sent.length = 0;
  }

  private installed(e: number, now: number): void {
    const flows = this.flows;
    flows.state[e] = FlowState.Installed;
    flows.lastMs[e] = now;
    flows.refreshedMs[e] = now;
    this.missed[e] = 0;
    this.counters.offloaded++;
  }

  private entry(e: number): FlowEntry {
    return { kind: this.flows.kind[e]!, id: e, mark: this.mark, input: this.flows.input, output: this.flows.output, at: e * TUPLE_WORDS };
  }

  private timeoutOf(e: number): number {
    return this.flows.kind[e]! & FlowKind.UDP ? this.timeouts.udpS : this.timeouts.tcpS;
  }

  /** Installs what is pending, restarts and removes what is due, in one transaction. */
  private flush(): void {
    if (!this.open || !this.netlink) return;
    const netlink = this.netlink;
    const adding = this.pending.splice(0);
    const leaving = this.leaving.splice(0);
    const refreshing = this.refreshing.splice(0).filter((e) => this.flows.state[e] === FlowState.Installed);
    const ending = this.ending.splice(0).filter((e) => this.flows.state[e] === FlowState.Closing);
    const clearing = this.clearing.splice(0);
    if (adding.length === 0 && leaving.length === 0 && refreshing.length === 0 && ending.length === 0 && clearing.length === 0) return;
    const groups: { e: number; changes: ElementChange[]; step: 'leave' | 'add' | 'refresh' }[] = [
      ...clearing.map((m) => ({ e: 0, changes: [endChange(this.mark | Math.abs(m), m < 0, this.destroys)], step: 'refresh' as const })),
      ...leaving.map(({ id, lookup }) => ({ e: id, changes: this.removal(id, lookup), step: 'leave' as const })),
      ...refreshing.map((e) => ({ e, changes: [lookupChange(this.entry(e), this.timeoutOf(e) * 1000)], step: 'refresh' as const })),
      ...ending.map((e) => ({ e, changes: [lookupChange(this.entry(e), this.lingerMs)], step: 'refresh' as const })),
      ...adding.map((e) => ({ e, changes: entryChanges(this.entry(e), this.timeoutOf(e) * 1000), step: 'add' as const })),
    ];
    const attempt = (changes: ElementChange[]) => {
      this.counters.transactions++;
      try {
        netlink.apply(changes);
        return true;
      } catch {
        return false;
      }
    };
    // Transactions of whole entries, at most MAX_CHANGES_PER_TRANSACTION changes each (unless one
    // entry alone is more). One bad element fails its whole transaction (e.g. a lookup element
    // that timed out just before its removal): then each of its entries on its own.
    const ok: boolean[] = [];
    for (let from = 0; from < groups.length; ) {
      let to = from;
      let size = 0;
      while (to < groups.length && (to === from || size + groups[to]!.changes.length <= MAX_CHANGES_PER_TRANSACTION)) size += groups[to++]!.changes.length;
      const chunk = groups.slice(from, to);
      if (attempt(chunk.flatMap((g) => g.changes))) for (let k = from; k < to; k++) ok.push(true);
      else for (const g of chunk) ok.push(attempt(g.changes));
      from = to;
    }
    const now = Date.now();
    groups.forEach((g, k) => {
      if (g.step === 'leave') {
        this.flows.remove(g.e); // its number is free again only now that its elements are gone
        return;
      }
      if (g.step === 'refresh') return; // a failed refresh (or linger) only changes when the kernel times it out
      if (ok[k]) {
        this.installed(g.e, now);
      } else {
        this.counters.installFailures++;
        this.flows.remove(g.e);
      }
    });
  }

  /**
   * An entry's removal. A live lookup element ('delete': the engine dropped the conversation, or
   * another took its replies) may have marked a FIN or RST since the last read: those marks go
   * too where the kernel allows "if present", so the number starts clean when reused. (An element
   * that timed out marked nothing after the reads that found it missing, which cleared its marks.)
   */
  private removal(e: number, lookup: 'delete' | 'destroy' | 'keep'): ElementChange[] {
    const changes = removalChanges(this.entry(e), lookup);
    if (lookup === 'delete' && this.destroys) changes.push(endChange(this.mark | e, false, true), endChange(this.mark | e, true, true));
    return changes;
  }

  /** Reads the kernel counters and the TCP ends, reports the counters' growth, and retires entries that ended. */
  private poll(): void {
    if (!this.open || !this.netlink) return;
    const { flows, present, packets, bytes } = this;
    present.fill(0);
    this.netlink.readCounters((id, p, b) => {
      if (id < 1 || id > flows.capacity) return;
      present[id] = 1;
      packets[id] = p;
      bytes[id] = b;
    });
    // After the counters: a FIN that marked an entry before its element went is read by now.
    this.netlink.readEnds((id, rst) => {
      if (id < 1 || id > flows.capacity) return;
      this.clearing.push(rst ? -id : id);
      if (flows.state[id] === FlowState.Installed) this.ends(id, rst ? FlowKind.RST : FlowKind.FIN);
    });
    const now = Date.now();
    const scratch = this.scratch;
    for (let e = 1; e <= flows.capacity; e++) {
      const state = flows.state[e];
      if (state === FlowState.Counting && now - flows.lastMs[e]! > COUNTING_IDLE_MS) flows.remove(e);
      if (state !== FlowState.Installed && state !== FlowState.Closing) continue;
      if (!present[e]) {
        // The kernel timed it out (no packet for the timeout, or the closing linger passed) — if
        // it is missing from two reads running: a dump resumes by count, so an element timed out
        // by the kernel between two of its parts can hide one that is still there, and retiring
        // that one would leave its lookup element marking packets without rewriting them.
        if (++this.missed[e]! < 2) continue;
        flows.state[e] = FlowState.Leaving;
        // Its lookup element goes too where the kernel can say "if still there": should the
        // dumps have missed a live one, it must not stay marking packets nothing rewrites.
        this.leaving.push({ id: e, lookup: this.destroys ? 'destroy' : 'keep' });
        this.counters.expired++;
        continue;
      }
      this.missed[e] = 0;
      const dp = packets[e]! - flows.kernelPackets[e]!;
      const db = bytes[e]! - flows.kernelBytes[e]!;
      flows.kernelPackets[e] = packets[e]!;
      flows.kernelBytes[e] = bytes[e]!;
      const kind = flows.kind[e]!;
      scratch.set(flows.input.subarray(e * TUPLE_WORDS, (e + 1) * TUPLE_WORDS));
      const alive = this.sink.addOffloaded((kind & FlowKind.IPV6) !== 0, kind & FlowKind.UDP ? 17 : 6, (kind & FlowKind.OUTBOUND) !== 0, scratch, dp, db, now);
      if (dp > 0 && state === FlowState.Installed) {
        flows.lastMs[e] = now;
        if (now - flows.refreshedMs[e]! >= (this.timeoutOf(e) * 1000) / 4) {
          flows.refreshedMs[e] = now;
          this.refreshing.push(e);
        }
      }
      if (!alive) {
        // The engine ended the conversation (evicted): the kernel must not carry it on.
        flows.state[e] = FlowState.Leaving;
        this.leaving.push({ id: e, lookup: 'delete' });
        this.counters.released++;
      }
    }
    if (this.leaving.length > 0 || this.refreshing.length > 0 || this.ending.length > 0 || this.clearing.length > 0) this.flush();
  }

  /** Removes the table: every offloaded conversation returns to the queue (or to bypass). */
  async stop(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    clearInterval(this.pollTimer);
    this.netlink?.close();
    this.netlink = undefined;
    await runNft(deleteTableScript(), FAST_PATH).catch(() => undefined);
  }
}

/** `from[at ..]` with source and destination (addresses and ports) swapped, into `to[toAt ..]`. */
function turnAround(from: Uint32Array, at: number, to: Uint32Array, toAt: number): void {
  for (let w = 0; w < 4; w++) {
    const source = from[at + w]!;
    to[toAt + w] = from[at + 4 + w]!;
    to[toAt + 4 + w] = source;
  }
  const ports = from[at + 8]!;
  to[toAt + 8] = ((ports << 16) | (ports >>> 16)) >>> 0;
}

/** Whether `a[aAt ..]` is `b[bAt ..]` turned around. */
function isTurnedAround(a: Uint32Array, aAt: number, b: Uint32Array, bAt: number): boolean {
  for (let w = 0; w < 4; w++) {
    if (a[aAt + w] !== b[bAt + 4 + w] || a[aAt + 4 + w] !== b[bAt + w]) return false;
  }
  const ports = b[bAt + 8]!;
  return a[aAt + 8] === ((ports << 16) | (ports >>> 16)) >>> 0;
}
