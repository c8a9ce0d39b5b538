/**
 * One NFQUEUE queue over raw netlink: binding and configuring it, a receive ring that drains
 * queued packets with recvmmsg, and the parse of each queued-packet message into numbers. No
 * allocation per packet: every buffer here is made once when the queue opens.
 */
import { align4, MessageBuilder, NETLINK_NETFILTER, NetlinkSocket, NLM_F_REQUEST } from './netlink';
import { addressOf, Errno, MSG_TRUNC, nativeBytes, SyscallError, writePointer } from './libc';

const NFNL_SUBSYS_QUEUE = 3;
export const NfqnlMsg = { Packet: 0, Verdict: 1, Config: 2, VerdictBatch: 3 } as const;
export function nfqMessageType(msg: number): number {
  return (NFNL_SUBSYS_QUEUE << 8) | msg;
}

const CfgAttr = { Cmd: 1, Params: 2, QueueMaxLen: 3, Mask: 4, Flags: 5 } as const;
const CfgCmd = { Bind: 1, Unbind: 2 } as const;
const NFQNL_COPY_PACKET = 2;

/**
 * Queue flags (NFQA_CFG_F_*). FailOpen is never set: when the queue is full, packets leaking
 * through unmodified reach the wrong ports mid-conversation (resets, ICMP errors that abort the
 * peers); dropping them is ordinary congestion loss, as on a saturated kernel NAT path.
 */
export const QueueFlag = { FailOpen: 1, Conntrack: 2, Gso: 4 } as const;

/** Attributes of a queued-packet message (NFQA_*). */
export const PacketAttr = {
  PacketHdr: 1,
  VerdictHdr: 2,
  Mark: 3,
  IfIndexInDev: 5,
  IfIndexOutDev: 6,
  Payload: 10,
  CapLen: 13,
  SkbInfo: 14,
} as const;

/** Bits of NFQA_SKB_INFO. */
export const SkbInfo = {
  /** The transport checksum holds only the pseudo-header sum (CHECKSUM_PARTIAL). */
  CsumNotReady: 1,
  /** A GSO super-packet: the kernel segments it later and writes the checksums itself. */
  Gso: 2,
  CsumNotVerified: 4,
} as const;

/** Netfilter hooks (NF_INET_*). */
export const Hook = { PreRouting: 0, LocalIn: 1, Forward: 2, LocalOut: 3, PostRouting: 4 } as const;

/**
 * Payload bytes asked for per packet. A packet longer than ~65531 bytes cannot travel whole in one
 * attribute; it arrives capped and must never be returned short (a shorter verdict payload trims it).
 */
const COPY_RANGE = 0xffff;
/** One ring slot: the largest payload plus the message header and attributes around it. */
export const SLOT_BYTES = 65536 + 1024;

export interface NfQueueOptions {
  queueNum: number;
  /** Packets the kernel holds for us before it bypasses (fail-open) or drops them. */
  maxLen: number;
  /** NFQA_CFG_F_GSO: take GSO super-packets whole instead of segmenting before queueing. */
  gso: boolean;
  /** recvmmsg slots (packets per receive call). */
  slots: number;
}

/**
 * The parsed packets of the last receive, by slot. `status[i]`: Ok (id and payload known),
 * Capped (id known, payload incomplete: accept untouched), None (not a packet message).
 */
export const SlotStatus = { None: 0, Ok: 1, Capped: 2 } as const;

export class NfQueue {
  readonly socket: NetlinkSocket;
  readonly options: NfQueueOptions;
  /** Ring of `slots` × SLOT_BYTES; packet payloads are read (copied) from here. */
  readonly ring: Uint8Array;
  readonly ringAddress: number;
  private readonly ringView: DataView;
  private readonly mmsg: Uint8Array;
  private readonly mmsgView: DataView;
  readonly status: Uint8Array;
  readonly id: Uint32Array;
  readonly hook: Uint8Array;
  readonly inDev: Uint32Array;
  readonly outDev: Uint32Array;
  /** Absolute offset of the payload in `ring` and its length. */
  readonly payloadAt: Uint32Array;
  readonly payloadLength: Uint32Array;
  readonly skbInfo: Uint32Array;
  readonly mark: Uint32Array;
  private bound = false;
  private currentFlags = 0;

  constructor(options: NfQueueOptions) {
    this.options = options;
    const slots = options.slots;
    this.ring = nativeBytes(slots * SLOT_BYTES);
    this.ringAddress = addressOf(this.ring);
    this.ringView = new DataView(this.ring.buffer);
    this.status = new Uint8Array(slots);
    this.id = new Uint32Array(slots);
    this.hook = new Uint8Array(slots);
    this.inDev = new Uint32Array(slots);
    this.outDev = new Uint32Array(slots);
    this.payloadAt = new Uint32Array(slots);
    this.payloadLength = new Uint32Array(slots);
    this.skbInfo = new Uint32Array(slots);
    this.mark = new Uint32Array(slots);

    // One mmsghdr (64 bytes) and one iovec (16 bytes) per slot, written once.
    this.mmsg = nativeBytes(slots * 64 + slots * 16);
    this.mmsgView = new DataView(this.mmsg.buffer);
    const mmsgAddress = addressOf(this.mmsg);
    for (let i = 0; i < slots; i++) {
      const iov = slots * 64 + i * 16;
      writePointer(this.mmsgView, iov, this.ringAddress + i * SLOT_BYTES);
      this.mmsgView.setUint32(iov + 8, SLOT_BYTES, true);
      writePointer(this.mmsgView, i * 64 + 16, mmsgAddress + iov); // msg_iov
      this.mmsgView.setUint32(i * 64 + 24, 1, true); // msg_iovlen
    }

    this.socket = new NetlinkSocket(NETLINK_NETFILTER);
    try {
      this.socket.setReceiveTimeout(100);
      this.socket.setReceiveBuffer(Math.max(8 << 20, slots * SLOT_BYTES));
      this.bind();
    } catch (error) {
      this.socket.close();
      throw error;
    }
  }

  private config(): MessageBuilder {
    return new MessageBuilder(nfqMessageType(NfqnlMsg.Config), NLM_F_REQUEST, 0, this.options.queueNum);
  }

  private bind(): void {
    const { queueNum, maxLen } = this.options;
    const cmd = new Uint8Array(4); // nfqnl_msg_config_cmd: command, pad, pf (unused since 3.8)
    cmd[0] = CfgCmd.Bind;
    try {
      this.socket.request(this.config().attribute(CfgAttr.Cmd, cmd), `bind queue ${queueNum}`);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === Errno.EPERM) {
        throw new Error(
          `NFQUEUE ${queueNum} is bound by another process (or this process lacks CAP_NET_ADMIN): ${error.message}`,
        );
      }
      throw error;
    }
    this.bound = true;
    const params = new Uint8Array(5); // nfqnl_msg_config_params: copy_range (be32), copy_mode
    new DataView(params.buffer).setUint32(0, COPY_RANGE, false);
    params[4] = NFQNL_COPY_PACKET;
    this.socket.request(
      this.config().attribute(CfgAttr.Params, params).u32(CfgAttr.QueueMaxLen, maxLen),
      `configure queue ${queueNum}`,
    );
    this.currentFlags = -1;
    this.setFlags(this.options.gso ? QueueFlag.Gso : 0, false);
  }

  /**
   * Sets the queue flags (all of those in the mask at once); takes effect for packets queued after. Before
   * packets flow it waits for the kernel's ack; after, it cannot (the ack would sit behind packets).
   */
  setFlags(flags: number, packetsFlowing = true): void {
    if (flags === this.currentFlags) return;
    const message = this.config()
      .u32(CfgAttr.Flags, flags)
      .u32(CfgAttr.Mask, QueueFlag.FailOpen | QueueFlag.Gso);
    const what = `set flags of queue ${this.options.queueNum}`;
    if (packetsFlowing) this.socket.send(message, what);
    else this.socket.request(message, what);
    this.currentFlags = flags;
  }

  get flags(): number {
    return this.currentFlags;
  }

  /**
   * Drains up to `slots` queued packets without blocking and parses them. Returns how many slots
   * were filled (0: nothing queued), or throws on a socket error.
   */
  receive(): number {
    const n = this.socket.receivePrepared(this.mmsg, this.options.slots);
    if (n < 0) {
      const e = -n;
      if (e === Errno.EAGAIN || e === Errno.EINTR || e === Errno.ENOBUFS) return 0;
      throw new SyscallError('recvmmsg(NFQUEUE)', e);
    }
    for (let i = 0; i < n; i++) this.parse(i);
    return n;
  }

  private parse(slot: number): void {
    const view = this.ringView;
    const base = slot * SLOT_BYTES;
    const received = this.mmsgView.getUint32(slot * 64 + 56, true);
    const truncated = (this.mmsgView.getUint32(slot * 64 + 48, true) & MSG_TRUNC) !== 0;
    this.status[slot] = SlotStatus.None;
    if (received < 20) return;
    const messageLength = Math.min(view.getUint32(base, true), received);
    if (view.getUint16(base + 4, true) !== nfqMessageType(NfqnlMsg.Packet)) return;
    let capped = truncated;
    let haveId = false;
    this.inDev[slot] = 0;
    this.outDev[slot] = 0;
    this.skbInfo[slot] = 0;
    this.mark[slot] = 0;
    this.payloadLength[slot] = 0;
    const end = base + messageLength;
    for (let at = base + 20; at + 4 <= end; ) {
      const length = view.getUint16(at, true);
      if (length < 4) break;
      const value = at + 4;
      switch (view.getUint16(at + 2, true) & 0x3fff) {
        case PacketAttr.PacketHdr:
          this.id[slot] = view.getUint32(value, false);
          this.hook[slot] = this.ring[value + 6]!;
          haveId = true;
          break;
        case PacketAttr.Mark:
          this.mark[slot] = view.getUint32(value, false);
          break;
        case PacketAttr.IfIndexInDev:
          this.inDev[slot] = view.getUint32(value, false);
          break;
        case PacketAttr.IfIndexOutDev:
          this.outDev[slot] = view.getUint32(value, false);
          break;
        case PacketAttr.Payload:
          this.payloadAt[slot] = value;
          this.payloadLength[slot] = Math.min(length - 4, end - value);
          if (value + length - 4 > end) capped = true;
          break;
        case PacketAttr.CapLen:
          capped = true;
          break;
        case PacketAttr.SkbInfo:
          this.skbInfo[slot] = view.getUint32(value, false);
          break;
      }
      at += align4(length);
    }
    if (!haveId) return;
    this.status[slot] = capped || this.payloadLength[slot] === 0 ? SlotStatus.Capped : SlotStatus.Ok;
  }

  /** Unbinds (best effort) and closes; the kernel then bypasses or drops per the queue rules. */
  close(): void {
    if (this.bound) {
      const cmd = new Uint8Array(4);
      cmd[0] = CfgCmd.Unbind;
      try {
        this.socket.request(this.config().attribute(CfgAttr.Cmd, cmd), `unbind queue ${this.options.queueNum}`);
      } catch {
        // Closing the socket unbinds too.
      }
      this.bound = false;
    }
    this.socket.close();
  }
}
