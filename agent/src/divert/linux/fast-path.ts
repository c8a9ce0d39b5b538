/**
 * The kernel fast path (issue 11, docs/linux-dataplane.md "Fast path"): once a direction of a
 * conversation has had `after` packets rewritten by the engine (addresses/ports only, main lane),
 * its translation — read off the packet before and after the engine — is installed in nftables
 * maps, and its later packets are rewritten by the kernel without leaving it. Installs and
 * removals go out in batches, one nf_tables netlink transaction per turn of the event loop after
 * packets made some ready, never on the packet path itself; `nft` (spawned) creates and removes
 * the table and lists counters. Every `pollMs` the elements' counters are read back and handed to the engine
 * (`addOffloaded`), which counts them for the rule and keeps the conversation alive; an entry the
 * engine no longer holds is removed. Kernel elements carry the protocol's timeout, restarted by
 * the agent while they are used (every quarter timeout at most); one that timed out is forgotten
 * (its next packets return to the engine, which still decides the conversation's fate: the
 * kernel's expiry never comes later than the engine's).
 */
import { spawn } from 'node:child_process';
import { FlowKind, FlowState, FlowTable, TUPLE_WORDS } from './flow-table';
import { type ElementChange, entryChanges, lookupChange, NftNetlink, removalChanges } from './fast-path-netlink';
import { deleteTableScript, type FlowEntry, readCounters, tableScript } from './fast-path-nft';

/** What the fast path reports kernel-carried traffic to (the engine). */
export interface OffloadSink {
  addOffloaded(ipv6: boolean, protocol: number, outbound: boolean, tuple: Uint32Array, packets: number, bytes: number, nowMs: number): boolean;
}

export interface FastPathOptions {
  /** The injection mark (its low 16 bits must be clear: they carry the entry number). */
  mark: number;
  /** Packets of a direction the engine rewrites before it is offloaded (short conversations stay in userspace). */
  after?: number;
  /** How often kernel counters are read back (ms). */
  pollMs?: number;
  /** Entries at most (≤ 65,535). */
  capacity?: number;
}

/** A direction seen in userspace but never offloaded is forgotten after this long without packets. */
const COUNTING_IDLE_MS = 10_000;

export class FastPath {
  readonly flows: FlowTable;
  readonly counters = { offloaded: 0, expired: 0, released: 0, installFailures: 0, pollFailures: 0, transactions: 0 };
  private readonly after: number;
  private readonly pollMs: number;
  private readonly mark: number;
  private timeouts = { tcpS: 300, udpS: 60 };
  private pending: number[] = [];
  private leaving: { id: number; lookup: boolean }[] = [];
  private refreshing: number[] = [];
  /** The counter read in progress (one at a time). */
  private polling: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private open = false;
  private readonly scratch = new Uint32Array(TUPLE_WORDS);
  /** Per entry number, filled by each counter read. */
  private readonly present: Uint8Array;
  private readonly packets: Float64Array;
  private readonly bytes: Float64Array;
  private netlink: NftNetlink | undefined;

  constructor(
    options: FastPathOptions,
    private readonly sink: OffloadSink,
  ) {
    if ((options.mark & 0xffff) !== 0) throw new RangeError(`the fast path needs an injection mark with its low 16 bits clear, got 0x${options.mark.toString(16)}`);
    this.mark = options.mark >>> 0;
    this.after = options.after ?? 8;
    this.pollMs = options.pollMs ?? 1000;
    this.flows = new FlowTable(options.capacity);
    this.present = new Uint8Array(this.flows.capacity + 1);
    this.packets = new Float64Array(this.flows.capacity + 1);
    this.bytes = new Float64Array(this.flows.capacity + 1);
  }

  /** Creates the table (replacing what a crashed run left) and starts reading counters. */
  async start(): Promise<void> {
    await nft(tableScript(this.mark, this.flows.capacity));
    this.netlink = new NftNetlink();
    this.open = true;
    this.pollTimer = setInterval(() => {
      this.polling ??= this.poll()
        .catch(() => void this.counters.pollFailures++)
        .finally(() => (this.polling = undefined));
    }, this.pollMs);
  }

  /** The inactivity timeouts of the rule list applied (used from the next install or refresh). */
  setTimeouts(timeouts: { tcpS: number; udpS: number }): void {
    this.timeouts = { ...timeouts };
  }

  /**
   * The packet path: a packet of kind `kind` arrived as `input[inAt ..]` and the engine rewrote it
   * (addresses/ports only) to `output[outAt ..]`. Counts the direction and queues its install once
   * it has had `after` packets. No allocation.
   */
  offer(kind: number, input: Uint32Array, inAt: number, output: Uint32Array, outAt: number, nowMs: number): void {
    if (!this.open) return;
    const flows = this.flows;
    let e = flows.find(kind, input, inAt);
    if (e === 0) {
      e = flows.add(kind, input, inAt);
      if (e === 0) return; // full: this direction stays in userspace
      flows.output.set(output.subarray(outAt, outAt + TUPLE_WORDS), e * TUPLE_WORDS);
    } else if (flows.state[e] !== FlowState.Counting) {
      return; // on its way into the kernel, or in it: packets queued before the install
    }
    flows.lastMs[e] = nowMs;
    if (++flows.seen[e]! < this.after) return;
    flows.state[e] = FlowState.Pending;
    // The translation of the last packet is the one installed (a replaced conversation may differ).
    flows.output.set(output.subarray(outAt, outAt + TUPLE_WORDS), e * TUPLE_WORDS);
    this.pending.push(e);
  }

  /**
   * Called by the plane after a batch's verdicts: installs what became ready in it. Not later (a
   * timer or the next loop turn): while packets keep coming the pump never yields to those, and a
   * flow would cross to userspace until its backlog drained. One netlink transaction, tens of µs.
   */
  afterBatch(): void {
    if (this.pending.length > 0) this.flush();
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
    if (adding.length === 0 && leaving.length === 0 && refreshing.length === 0) return;
    const groups: { e: number; changes: ElementChange[]; step: 'leave' | 'add' | 'refresh' }[] = [
      ...leaving.map(({ id, lookup }) => ({ e: id, changes: removalChanges(this.entry(id), lookup), step: 'leave' as const })),
      ...refreshing.map((e) => ({ e, changes: [lookupChange(this.entry(e), this.timeoutOf(e) * 1000)], step: 'refresh' as const })),
      ...adding.map((e) => ({ e, changes: entryChanges(this.entry(e), this.timeoutOf(e) * 1000), step: 'add' as const })),
    ];
    this.counters.transactions++;
    const attempt = (changes: ElementChange[]) => {
      try {
        netlink.apply(changes);
        return true;
      } catch {
        return false;
      }
    };
    // One bad element fails the whole transaction (e.g. a lookup element that timed out just
    // before its removal): then each entry on its own.
    const ok = attempt(groups.flatMap((g) => g.changes)) ? groups.map(() => true) : groups.map((g) => attempt(g.changes));
    const now = Date.now();
    groups.forEach((g, k) => {
      if (g.step === 'leave') {
        this.flows.remove(g.e); // its number is free again only now that its elements are gone
        return;
      }
      if (g.step === 'refresh') return; // a failed refresh only lets the kernel time it out earlier
      if (ok[k]) {
        this.flows.state[g.e] = FlowState.Installed;
        this.flows.lastMs[g.e] = now;
        this.flows.refreshedMs[g.e] = now;
        this.counters.offloaded++;
      } else {
        this.counters.installFailures++;
        this.flows.remove(g.e);
      }
    });
  }

  /** Reads the kernel counters, reports their growth, and retires entries that ended. */
  private async poll(): Promise<void> {
    if (!this.open) return;
    const { flows, present, packets, bytes } = this;
    present.fill(0);
    const listedAt = Date.now();
    const json = await nftOutput(['-j', 'list', 'table', 'inet', 'portfleet_fast']);
    if (!this.open) return;
    readCounters(json, (id, p, b) => {
      if (id < 1 || id > flows.capacity) return;
      present[id] = 1;
      packets[id] = p;
      bytes[id] = b;
    });
    const now = Date.now();
    const scratch = this.scratch;
    for (let e = 1; e <= flows.capacity; e++) {
      const state = flows.state[e];
      if (state === FlowState.Counting && now - flows.lastMs[e]! > COUNTING_IDLE_MS) flows.remove(e);
      // Installed while the list was being made: not in it, not gone either.
      if (state !== FlowState.Installed || flows.refreshedMs[e]! >= listedAt) continue;
      if (!present[e]) {
        // The kernel timed it out: no packet for the protocol's timeout.
        flows.state[e] = FlowState.Leaving;
        this.leaving.push({ id: e, lookup: false });
        this.counters.expired++;
        continue;
      }
      const dp = packets[e]! - flows.kernelPackets[e]!;
      const db = bytes[e]! - flows.kernelBytes[e]!;
      flows.kernelPackets[e] = packets[e]!;
      flows.kernelBytes[e] = bytes[e]!;
      const kind = flows.kind[e]!;
      scratch.set(flows.input.subarray(e * TUPLE_WORDS, (e + 1) * TUPLE_WORDS));
      const alive = this.sink.addOffloaded((kind & FlowKind.IPV6) !== 0, kind & FlowKind.UDP ? 17 : 6, (kind & FlowKind.OUTBOUND) !== 0, scratch, dp, db, now);
      if (dp > 0) {
        flows.lastMs[e] = now;
        if (now - flows.refreshedMs[e]! >= (this.timeoutOf(e) * 1000) / 4) {
          flows.refreshedMs[e] = now;
          this.refreshing.push(e);
        }
      }
      if (!alive) {
        // The engine ended the conversation (evicted): the kernel must not carry it on.
        flows.state[e] = FlowState.Leaving;
        this.leaving.push({ id: e, lookup: true });
        this.counters.released++;
      }
    }
    if (this.leaving.length > 0 || this.refreshing.length > 0) this.flush();
  }

  /** Removes the table: every offloaded conversation returns to the queue (or to bypass). */
  async stop(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    clearInterval(this.pollTimer);
    await this.polling;
    this.netlink?.close();
    this.netlink = undefined;
    await nft(deleteTableScript()).catch(() => undefined);
  }
}

function nft(script: string): Promise<string> {
  return run(['-f', '-'], script);
}

function nftOutput(args: string[]): Promise<string> {
  return run(args, undefined);
}

function run(args: string[], input: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('nft not found: the Linux fast path needs nftables (Debian/Ubuntu package "nftables")') : error),
    );
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`nft ${args.join(' ')} failed (${code}): ${err.trim()}`))));
    // nft may exit before reading all of it (a syntax error): its exit code tells, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
