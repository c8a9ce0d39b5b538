/**
 * Verdicts for one NFQUEUE, gathered into as few sendmsg calls as possible: each message is an
 * iovec run (header, payload straight from the packet's bytes, padding), so nothing is copied in
 * userspace. A send stays under the socket's send buffer — a larger one fails with EMSGSIZE and
 * strands every packet in it — and a failed send is retried one message at a time.
 */
import { NLM_F_REQUEST, NLMSG_HDRLEN, type NetlinkSocket } from './netlink';
import { addressOf, nativeBytes, writePointer } from './libc';
import { NfqnlMsg, nfqMessageType, PacketAttr } from './nfqueue';

export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** nlmsghdr + nfgenmsg + NFQA_VERDICT_HDR (+ NFQA_PAYLOAD header). */
const VERDICT_BYTES = NLMSG_HDRLEN + 4 + 12;
const HEADER_SLOT = VERDICT_BYTES + 4;
/** The kernel takes at most UIO_MAXIOV (1024) iovecs per sendmsg. */
const MAX_IOVECS = 1020;

export class VerdictSender {
  private readonly headers: Uint8Array;
  private readonly headersView: DataView;
  private readonly headersAddress: number;
  private readonly iovecs: Uint8Array;
  private readonly iovecsView: DataView;
  private readonly iovecsAddress: number;
  private readonly msghdr: Uint8Array;
  private readonly msghdrView: DataView;
  /** Zero bytes that pad a payload to 4 bytes (their address goes into iovecs). */
  private readonly pad = nativeBytes(8);
  private readonly padAddress: number;
  /** Iovec index where message k starts (k = 0..messages). */
  private readonly messageStart: Uint16Array;
  private readonly maxMessages: number;
  private messages = 0;
  private iovCount = 0;
  private bytes = 0;
  /** Sends that failed even one message at a time (those packets stay queued until bypass). */
  failedSends = 0;
  lastError = 0;

  constructor(
    private readonly socket: NetlinkSocket,
    private readonly queueNum: number,
    /** Largest datagram to send: below the socket's send buffer. */
    private readonly budget: number,
    maxMessages = 340,
  ) {
    this.maxMessages = maxMessages;
    this.headers = nativeBytes(maxMessages * HEADER_SLOT);
    this.headersView = new DataView(this.headers.buffer);
    this.headersAddress = addressOf(this.headers);
    this.iovecs = nativeBytes(MAX_IOVECS * 16);
    this.iovecsView = new DataView(this.iovecs.buffer);
    this.iovecsAddress = addressOf(this.iovecs);
    this.msghdr = nativeBytes(56);
    this.msghdrView = new DataView(this.msghdr.buffer);
    this.padAddress = addressOf(this.pad);
    this.messageStart = new Uint16Array(maxMessages + 1);
  }

  /**
   * One verdict for packet `id`; with `payloadLength` > 0 the packet's bytes are replaced by
   * `payloadLength` bytes at `payloadAddress` (which must stay valid until `flush`).
   */
  verdict(id: number, verdict: number, payloadAddress: number, payloadLength: number): void {
    const padded = (payloadLength + 3) & ~3;
    const size = VERDICT_BYTES + (payloadLength > 0 ? 4 + padded : 0);
    if (this.messages === this.maxMessages || this.iovCount + 3 > MAX_IOVECS || this.bytes + size > this.budget) {
      this.flush();
    }
    const k = this.messages;
    const at = k * HEADER_SLOT;
    const h = this.headersView;
    h.setUint32(at, VERDICT_BYTES + (payloadLength > 0 ? 4 + payloadLength : 0), true);
    h.setUint16(at + 4, nfqMessageType(NfqnlMsg.Verdict), true);
    this.writeCommon(at, verdict, id);
    this.messageStart[k] = this.iovCount;
    if (payloadLength > 0) {
      h.setUint16(at + VERDICT_BYTES, 4 + payloadLength, true);
      h.setUint16(at + VERDICT_BYTES + 2, PacketAttr.Payload, true);
      this.iov(this.headersAddress + at, HEADER_SLOT);
      this.iov(payloadAddress, payloadLength);
      if (padded > payloadLength) this.iov(this.padAddress, padded - payloadLength);
    } else {
      this.iov(this.headersAddress + at, VERDICT_BYTES);
    }
    this.messages = k + 1;
    this.bytes += size;
  }

  /** NFQNL_MSG_VERDICT_BATCH: accept every still-queued packet with an id up to `maxId`. */
  acceptUpTo(maxId: number): void {
    if (this.messages === this.maxMessages || this.iovCount + 1 > MAX_IOVECS || this.bytes + VERDICT_BYTES > this.budget) {
      this.flush();
    }
    const k = this.messages;
    const at = k * HEADER_SLOT;
    this.headersView.setUint32(at, VERDICT_BYTES, true);
    this.headersView.setUint16(at + 4, nfqMessageType(NfqnlMsg.VerdictBatch), true);
    this.writeCommon(at, NF_ACCEPT, maxId);
    this.messageStart[k] = this.iovCount;
    this.iov(this.headersAddress + at, VERDICT_BYTES);
    this.messages = k + 1;
    this.bytes += VERDICT_BYTES;
  }

  private writeCommon(at: number, verdict: number, id: number): void {
    const h = this.headersView;
    h.setUint16(at + 6, NLM_F_REQUEST, true);
    h.setUint32(at + 8, 0, true);
    h.setUint32(at + 12, 0, true);
    this.headers[at + 16] = 0; // AF_UNSPEC
    this.headers[at + 17] = 0; // NFNETLINK_V0
    h.setUint16(at + 18, this.queueNum, false);
    h.setUint16(at + 20, 12, true);
    h.setUint16(at + 22, PacketAttr.VerdictHdr, true);
    h.setUint32(at + 24, verdict, false);
    h.setUint32(at + 28, id, false);
  }

  private iov(address: number, length: number): void {
    const at = this.iovCount * 16;
    writePointer(this.iovecsView, at, address);
    this.iovecsView.setUint32(at + 8, length, true);
    this.iovecsView.setUint32(at + 12, 0, true);
    this.iovCount++;
  }

  /** Sends what is gathered; on failure re-sends message by message so one bad one costs only itself. */
  flush(): void {
    if (this.messages === 0) return;
    this.messageStart[this.messages] = this.iovCount;
    if (this.sendRange(0, this.iovCount) < 0 && this.messages > 1) {
      for (let k = 0; k < this.messages; k++) {
        const from = this.messageStart[k]!;
        if (this.sendRange(from, this.messageStart[k + 1]! - from) < 0) this.failedSends++;
      }
    } else if (this.lastError !== 0 && this.messages === 1) {
      this.failedSends++;
    }
    this.messages = 0;
    this.iovCount = 0;
    this.bytes = 0;
  }

  private sendRange(firstIov: number, count: number): number {
    const m = this.msghdrView;
    writePointer(m, 16, this.iovecsAddress + firstIov * 16);
    m.setUint32(24, count, true);
    m.setUint32(28, 0, true);
    const n = this.socket.sendPrepared(this.msghdr);
    this.lastError = n < 0 ? -n : 0;
    return n;
  }
}
