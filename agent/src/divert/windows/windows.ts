/**
 * The Windows data plane: one WinDivert handle at the network layer whose filter is compiled from
 * the rule list (see filter.ts), batches of up to 255 packets per RecvEx/SendEx, and the known
 * WinDivert pitfalls handled here (docs/windows-dataplane.md):
 * - direction comes from the address's Outbound bit, never from the IP addresses, and is what
 *   decides how a packet is injected;
 * - loopback traffic is seen only outbound and must go back outbound;
 * - inbound injection needs a valid IfIdx/SubIfIdx: received addresses are reused, new ones get
 *   the SubIfIdx last seen on that adapter;
 * - impostor packets (injected by another driver) keep their Impostor flag when reinjected, so
 *   WinDivert lowers their TTL and a loop ends (ERROR_HOST_UNREACHABLE counts as a drop); our own
 *   injections are not diverted again by a handle of the same priority;
 * - every received packet is sent back or deliberately dropped in the same turn, because nothing
 *   else reinjects it (no fail-open queue as with NFQUEUE); on close the queue is drained and sent
 *   on unchanged, and a filter change drains the old handle before closing it.
 */
import type { Settings } from '@portfleet/proto';
import { type PacketBatch, Verdict } from '../../engine/batch';
import type { EngineFieldError } from '../../engine/compile';
import type { AdapterInfo, DataPlane, DataPlaneCapabilities } from '../dataplane';
import { ADDRESS_SIZE } from './address';
import { addressEmitted, fillBatch, ipPacketLength, packVerdicts, reroute, SubInterfaces, type Packed } from './batch-io';
import { type ChannelPattern, compileFilter, type FilterInput } from './filter';
import { listWindowsAdapters } from './adapters';
import { defaultLibraryPath, ERROR_HOST_UNREACHABLE, ERROR_NO_DATA, WINDIVERT, WinDivertError, type WinDivertHandle, WinDivertLibrary } from './windivert';

export interface WinDivertPlaneOptions {
  /** WinDivert.dll (default `<agent>/windivert/WinDivert.dll`); tests pass the double. */
  libraryPath?: string;
  lastError?: () => number;
  /** Handle priority (-30000 … 30000); 0 is WinDivert's middle. */
  priority?: number;
  /** Queue limits (WinDivertSetParam); WinDivert's defaults when absent. */
  queue?: { length?: number; timeMs?: number; sizeBytes?: number };
  /** Adapter inventory (default: PowerShell Get-NetAdapter / Get-NetIPAddress). */
  listAdapters?: () => Promise<AdapterInfo[]>;
  /** Clock for keeping a replaced rule list's channels diverted until its conversations expire. */
  now?: () => number;
}

/** What the plane needs of an applied rule list (the engine's ApplyInput has all of it). */
export interface PlaneSelection extends FilterInput {
  settings?: Pick<Settings, 'tcpTimeoutS' | 'udpTimeoutS'>;
}

export interface WinDivertStats {
  received: number;
  sent: number;
  dropped: number;
  injected: number;
  /** Impostor packets WinDivert refused because their TTL ran out (a loop was broken). */
  loopsBroken: number;
  sendErrors: number;
  lastSendError: number;
  filterChanges: number;
  /** Why the last filter change in the background (expiry of old channels) failed, if it did. */
  lastFilterError: string;
}

const NO_FILTER = 'false';

export class WinDivertDataPlane implements DataPlane {
  readonly capabilities: DataPlaneCapabilities = { kind: 'windivert', layer2: false, reflection: true, adapters: true, clone: true };
  readonly stats: WinDivertStats = { received: 0, sent: 0, dropped: 0, injected: 0, loopsBroken: 0, sendErrors: 0, lastSendError: 0, filterChanges: 0, lastFilterError: '' };

  private lib: WinDivertLibrary | undefined;
  private active: WinDivertHandle | undefined;
  /** Handles whose filter was replaced: drained (RECV shut down) before they are closed. */
  private readonly retiring: WinDivertHandle[] = [];
  /** The handle the last batch came from: its verdicts go back through it. */
  private current: WinDivertHandle | undefined;
  private filterText = NO_FILTER;
  private selection: PlaneSelection | undefined;
  /** Channels of replaced rule lists, diverted until their conversations have timed out. */
  private lingering: { patterns: ChannelPattern[]; until: number }[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Set while a receive loop runs (from its first `receive` until one returns false or throws). */
  private loop: { ended: Promise<void>; end: () => void } | undefined;

  private readonly addressBytes = new Uint8Array(WINDIVERT.BATCH_MAX * ADDRESS_SIZE);
  private readonly addresses = new DataView(this.addressBytes.buffer);
  private readonly emitBytes = new Uint8Array(WINDIVERT.BATCH_MAX * ADDRESS_SIZE);
  private readonly emitAddresses = new DataView(this.emitBytes.buffer);
  private readonly subs = new SubInterfaces();
  private readonly packed: Packed = { count: 0, bytes: 0 };

  constructor(private readonly options: WinDivertPlaneOptions = {}) {}

  /** The filter the handle diverts with now. */
  get filter(): string {
    return this.filterText;
  }

  adapters(): Promise<AdapterInfo[]> {
    return (this.options.listAdapters ?? listWindowsAdapters)();
  }

  async open(): Promise<void> {
    this.lib ??= WinDivertLibrary.load({ path: this.options.libraryPath ?? defaultLibraryPath(), lastError: this.options.lastError });
    const handle = this.openHandle(this.filterText);
    try {
      handle.checkVersion();
    } catch (error) {
      handle.close();
      throw error;
    }
    this.active = handle;
  }

  /**
   * Compiles the applied rule list into the filter and, when it changed, switches to a new handle.
   * Returns the rules' errors (MAC fields, unresolved names, unknown adapters) without changing
   * anything when there are any.
   */
  select(selection: PlaneSelection): EngineFieldError[] {
    const previous = this.selection;
    const compiled = this.compile(selection);
    if (!compiled.ok) return compiled.errors;
    const lingering = this.lingering;
    if (previous) {
      const timeoutS = Math.max(previous.settings?.tcpTimeoutS ?? 300, previous.settings?.udpTimeoutS ?? 60);
      const old = compileFilter({ ...previous, live: [] });
      const fresh = compileFilter({ ...selection, live: [] });
      const unchanged = old.ok && fresh.ok && old.filter === fresh.filter;
      if (old.ok && !unchanged) this.lingering = [...lingering, { patterns: old.patterns, until: this.now() + timeoutS * 1000 }];
    }
    this.selection = selection;
    try {
      this.refilter();
    } catch (error) {
      // WinDivertOpen refused the new filter: keep diverting with the old one.
      this.selection = previous;
      this.lingering = lingering;
      throw error;
    }
    return [];
  }

  private compile(selection: PlaneSelection) {
    const now = this.now();
    this.lingering = this.lingering.filter((l) => l.until > now);
    const live = [...(selection.live ?? []), ...this.lingering.flatMap((l) => l.patterns)];
    return compileFilter({ ...selection, live });
  }

  /**
   * Recompiles with the current selection and lingering channels; when the text changed, opens a
   * handle with it before touching anything (a refused filter changes nothing).
   */
  private refilter(): void {
    const compiled = this.selection ? this.compile(this.selection) : null;
    const text = compiled?.ok ? compiled.filter : NO_FILTER;
    if (text !== this.filterText) {
      if (this.active && !this.closing) {
        // The new handle diverts before the old one stops: a packet goes to exactly one of them.
        const next = this.openHandle(text);
        const old = this.active;
        this.active = next;
        this.retiring.push(old);
        old.shutdown(WINDIVERT.SHUTDOWN_RECV);
      }
      this.filterText = text;
      this.stats.filterChanges++;
    }
    this.scheduleLingerExpiry();
  }

  private scheduleLingerExpiry(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.lingering.length === 0 || this.closing) return;
    const next = Math.min(...this.lingering.map((l) => l.until));
    this.lingerTimer = setTimeout(() => {
      try {
        this.refilter();
      } catch (error) {
        // Keep the wider filter; the next apply tries again.
        this.stats.lastFilterError = (error as Error).message;
      }
    }, Math.max(0, next - this.now()) + 1);
    this.lingerTimer.unref();
  }

  private openHandle(filter: string): WinDivertHandle {
    const handle = this.lib!.open(filter, WINDIVERT.LAYER_NETWORK, this.options.priority ?? 0, 0);
    try {
      const q = this.options.queue ?? {};
      if (q.length !== undefined) handle.setParam(WINDIVERT.PARAM_QUEUE_LENGTH, q.length);
      if (q.timeMs !== undefined) handle.setParam(WINDIVERT.PARAM_QUEUE_TIME, q.timeMs);
      if (q.sizeBytes !== undefined) handle.setParam(WINDIVERT.PARAM_QUEUE_SIZE, q.sizeBytes);
    } catch (error) {
      handle.close();
      throw error;
    }
    return handle;
  }

  async receive(batch: PacketBatch): Promise<boolean> {
    if (batch.data.byteLength < WINDIVERT.MTU_MAX) {
      throw new RangeError(`the WinDivert plane needs a batch arena of at least ${WINDIVERT.MTU_MAX} bytes (one packet before segmentation offload), got ${batch.data.byteLength}`);
    }
    if (!this.loop) {
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      this.loop = { ended, end };
    }
    try {
      const max = Math.min(batch.capacity, WINDIVERT.BATCH_MAX);
      for (;;) {
        const handle = this.retiring[0] ?? this.active;
        if (!handle) {
          this.endLoop();
          return false;
        }
        let count: number;
        try {
          count = await handle.receive(batch.data, this.addressBytes, max);
        } catch (error) {
          if (!(error instanceof WinDivertError && error.code === ERROR_NO_DATA)) throw error;
          // Shut down and drained: a retired handle (or, when closing, the active one) is done.
          this.finish(handle);
          continue;
        }
        fillBatch(batch, count, handle.bytesReceived, this.addresses, this.subs);
        this.current = handle;
        this.stats.received += count;
        return true;
      }
    } catch (error) {
      this.endLoop();
      throw error;
    }
  }

  private endLoop(): void {
    this.loop?.end();
    this.loop = undefined;
  }

  private finish(handle: WinDivertHandle): void {
    const at = this.retiring.indexOf(handle);
    if (at >= 0) this.retiring.splice(at, 1);
    else if (handle === this.active) this.active = undefined;
    if (this.current === handle) this.current = undefined;
    handle.close();
  }

  verdict(batch: PacketBatch): void {
    const handle = this.current;
    if (!handle || batch.count === 0) return;
    let kept = 0;
    for (let i = 0; i < batch.count; i++) if (batch.verdict[i] !== Verdict.Drop) kept++;
    this.stats.dropped += batch.count - kept;
    const packed = packVerdicts(batch, this.addresses, this.addressBytes, this.subs, this.packed);
    if (!packed) {
      this.sendEachInPlace(handle, batch);
      return;
    }
    if (packed.count === 0) return;
    const error = handle.send(batch.data, packed.bytes, this.addressBytes, packed.count);
    if (error === 0) this.stats.sent += packed.count;
    else this.sendPackedOneByOne(handle, batch.data, packed.count, this.addressBytes);
  }

  inject(emitted: PacketBatch): void {
    const handle = this.current ?? this.active;
    if (!handle) return;
    for (let from = 0; from < emitted.count; from += WINDIVERT.BATCH_MAX) {
      const to = Math.min(emitted.count, from + WINDIVERT.BATCH_MAX);
      addressEmitted(emitted, from, to, this.emitAddresses, this.subs);
      const start = emitted.offset[from]!;
      const end = emitted.offset[to - 1]! + emitted.length[to - 1]!;
      // Emitted packets are appended back to back (PacketBatch.push), so a chunk is one range.
      const bytes = start === 0 ? emitted.data : emitted.data.subarray(start, end);
      const error = handle.send(bytes, end - start, this.emitBytes, to - from);
      if (error === 0) this.stats.injected += to - from;
      else this.sendPackedOneByOne(handle, bytes, to - from, this.emitBytes, true);
    }
  }

  /** After a failed batch send: one SendEx per packet, so one bad packet costs only itself. */
  private sendPackedOneByOne(handle: WinDivertHandle, data: Uint8Array, count: number, addresses: Uint8Array, emitted = false): void {
    let at = 0;
    for (let k = 0; k < count; k++) {
      const length = ipPacketLength(data, at, data.byteLength);
      this.count(handle.sendOne(data, at, length, addresses, k), emitted);
      at += length;
    }
  }

  /** The arena is not in receive order (unexpected): send each packet from where it is. */
  private sendEachInPlace(handle: WinDivertHandle, batch: PacketBatch): void {
    for (let i = 0; i < batch.count; i++) {
      const verdict = batch.verdict[i];
      if (verdict === Verdict.Drop) continue;
      if (verdict === Verdict.Reroute) reroute(this.addresses, i, batch.flags[i]!, batch.ifIndex[i]!, this.subs);
      this.count(handle.sendOne(batch.data, batch.offset[i]!, batch.length[i]!, this.addressBytes, i), false);
    }
  }

  private count(error: number, emitted: boolean): void {
    if (error === 0) {
      if (emitted) this.stats.injected++;
      else this.stats.sent++;
    } else if (error === ERROR_HOST_UNREACHABLE) {
      this.stats.loopsBroken++;
    } else {
      this.stats.sendErrors++;
      this.stats.lastSendError = error;
    }
  }

  /**
   * Stops diverting: shuts receiving down on every handle; a running receive loop gets what is
   * still queued (and ends when all is drained), else it is sent on unchanged here. Then closes.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    for (const h of [...this.retiring, ...(this.active ? [this.active] : [])]) h.shutdown(WINDIVERT.SHUTDOWN_RECV);
    if (this.loop) await this.loop.ended;
    while (this.retiring.length > 0) await this.drain(this.retiring[0]!);
    if (this.active) await this.drain(this.active);
  }

  /** Receives what is left in a shut-down handle's queue and sends it on unchanged, then closes it. */
  private async drain(handle: WinDivertHandle): Promise<void> {
    const data = new Uint8Array(WINDIVERT.BATCH_MAX * 1536 + WINDIVERT.MTU_MAX);
    for (;;) {
      try {
        const count = await handle.receive(data, this.addressBytes, WINDIVERT.BATCH_MAX);
        const error = handle.send(data, handle.bytesReceived, this.addressBytes, count);
        if (error === 0) this.stats.sent += count;
        else this.sendPackedOneByOne(handle, data, count, this.addressBytes);
      } catch (error) {
        if (error instanceof WinDivertError && error.code === ERROR_NO_DATA) break;
        throw error;
      }
    }
    this.finish(handle);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

