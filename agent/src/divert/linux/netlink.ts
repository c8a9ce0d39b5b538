/**
 * A raw netlink socket (NETLINK_NETFILTER for NFQUEUE) and the little message encoding the data
 * plane needs. Configuration requests go through `request` (slow path: allocates, waits for the
 * kernel's ack); packets and verdicts bypass it with recvmmsg/sendmsg over preallocated buffers.
 */
import {
  addressOf,
  AF_NETLINK,
  check,
  Errno,
  errno,
  getIntOption,
  libc,
  MSG_DONTWAIT,
  nativeBytes,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  setIntOption,
  SyscallError,
  writePointer,
} from './libc';

export const NETLINK_NETFILTER = 12;
const SOL_NETLINK = 270;
const NETLINK_NO_ENOBUFS = 5;
const NETLINK_CAP_ACK = 10;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 1;
export const NLM_F_ACK = 4;
export const NLM_F_DUMP = 0x300;
export const NLA_F_NESTED = 0x8000;

/** nf_tables (shared by the fast path's maps and the kernel rules' counters). */
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFPROTO_INET = 1;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;

export interface CounterValues {
  packets: number;
  bytes: number;
}

/** A counter's NFTA_COUNTER_* attributes in [from, to) into `into` (absent ones leave it as it was). */
export function readCounter(view: DataView, from: number, to: number, into: CounterValues): void {
  forEachAttr(view, from, to, (t, f) => {
    if (t === NFTA_COUNTER_PACKETS) into.packets = Number(view.getBigUint64(f, false));
    else if (t === NFTA_COUNTER_BYTES) into.bytes = Number(view.getBigUint64(f, false));
  });
}

/** A dump request's attributes: type and value, made once by the caller (dumps run every poll). */
export type DumpAttributes = readonly (readonly [type: number, value: Uint8Array])[];

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Calls `visit(type, valueStart, valueEnd)` for each attribute in [from, to) (type without the nested flag). */
export function forEachAttr(view: DataView, from: number, to: number, visit: (type: number, from: number, to: number) => void): void {
  for (let at = from; at + NLA_HDRLEN <= to; ) {
    const len = view.getUint16(at, true);
    if (len < NLA_HDRLEN) return;
    visit(view.getUint16(at + 2, true) & ~NLA_F_NESTED, at + NLA_HDRLEN, Math.min(at + len, to));
    at += align4(len);
  }
}

/** Builds one netlink message: header, a 4-byte nfgenmsg, then attributes (values big-endian). */
export class MessageBuilder {
  private readonly bytes = new Uint8Array(512);
  private readonly view = new DataView(this.bytes.buffer);
  private length = NLMSG_HDRLEN;

  constructor(type: number, flags: number, family: number, resId: number) {
    this.view.setUint16(4, type, true);
    this.view.setUint16(6, flags, true);
    this.bytes[this.length] = family;
    this.bytes[this.length + 1] = 0; // NFNETLINK_V0
    this.view.setUint16(this.length + 2, resId, false);
    this.length += 4;
  }

  attribute(type: number, value: Uint8Array): this {
    const at = this.length;
    this.view.setUint16(at, NLA_HDRLEN + value.length, true);
    this.view.setUint16(at + 2, type, true);
    this.bytes.set(value, at + NLA_HDRLEN);
    this.length = align4(at + NLA_HDRLEN + value.length);
    return this;
  }

  u32(type: number, value: number): this {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, value, false);
    return this.attribute(type, v);
  }

  build(seq: number): Uint8Array {
    this.view.setUint32(0, this.length, true);
    this.view.setUint32(8, seq, true);
    return this.bytes.slice(0, this.length);
  }
}

export class NetlinkSocket {
  readonly fd: number;
  private seq = 1;
  private closed = false;
  /** The dump request, written in place (made at the first `dump`). */
  private dumpRequest: Uint8Array | undefined;
  private dumpView: DataView | undefined;
  /** recvmmsg's iovec and header for `receive`, made at its first call. */
  private receiveIov: Uint8Array | undefined;
  private receiveHdr: Uint8Array | undefined;

  constructor(protocol: number) {
    this.fd = check('socket(AF_NETLINK)', libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) as number);
    try {
      const addr = new Uint8Array(12); // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
      new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
      check('bind(AF_NETLINK)', libc.bind(this.fd, addr, 12) as number);
      // Overflow shows up as fail-open accepts or kernel drops, never as a receive error.
      setIntOption(this.fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1, 'NETLINK_NO_ENOBUFS');
    } catch (error) {
      libc.close(this.fd);
      throw error;
    }
  }

  /** A blocking receive returns after `ms` at most, so a stuck read never holds shutdown. */
  setReceiveTimeout(ms: number): void {
    const tv = new Uint8Array(16); // struct timeval: tv_sec, tv_usec (64-bit each)
    const view = new DataView(tv.buffer);
    view.setUint32(0, Math.floor(ms / 1000), true);
    view.setUint32(8, (ms % 1000) * 1000, true);
    check('setsockopt(SO_RCVTIMEO)', libc.setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) as number);
  }

  /** Acks carry only the request's header, not the whole request back. */
  capAcks(): void {
    setIntOption(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, 1, 'NETLINK_CAP_ACK');
  }

  setReceiveBuffer(bytes: number): void {
    setIntOption(this.fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes, 'SO_RCVBUFFORCE');
  }

  /**
   * Raises the send buffer (needs CAP_NET_ADMIN) and returns what the kernel granted: one send
   * larger than that fails with EMSGSIZE and strands every verdict in it.
   */
  setSendBuffer(bytes: number): number {
    try {
      setIntOption(this.fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes, 'SO_SNDBUFFORCE');
    } catch {
      // Without the capability the default (~208 KB) stays; the caller sizes its sends to it.
    }
    return getIntOption(this.fd, SOL_SOCKET, SO_SNDBUF, 'SO_SNDBUF');
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /**
   * Sends one request with NLM_F_ACK and waits for its ack, skipping other messages (queued
   * packets) that arrive meanwhile. Throws the kernel's error.
   */
  request(builder: MessageBuilder, what: string): void {
    const seq = this.nextSeq();
    const message = builder.build(seq);
    new DataView(message.buffer).setUint16(6, new DataView(message.buffer).getUint16(6, true) | NLM_F_ACK, true);
    const sent = libc.sendto(this.fd, message, message.length, 0, null, 0) as number;
    if (sent < 0) throw new SyscallError(`send(${what})`, errno());
    this.awaitAck(seq, seq, new Uint8Array(8192), `netlink ${what}`, false);
  }

  /**
   * Reads answers into `into` until the ack of `lastSeq` (the one reply reader of this socket's
   * requests and transactions): an error answering any of `firstSeq..lastSeq` is thrown as
   * `what`'s; other messages (queued packets on an NFQUEUE socket) are skipped. With `drain`, what
   * else is queued is read after an error without waiting (a transaction's other answers, which
   * would otherwise be taken for the next one's) — never on a socket that also carries packets.
   */
  awaitAck(firstSeq: number, lastSeq: number, into: Uint8Array, what: string, drain: boolean): void {
    const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
    const span = (lastSeq - firstSeq) >>> 0;
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const n = this.receive(into);
      for (let at = 0; n > 0 && at + NLMSG_HDRLEN <= n; ) {
        const len = view.getUint32(at, true);
        if (len < NLMSG_HDRLEN) break;
        const seq = view.getUint32(at + 8, true);
        if (view.getUint16(at + 4, true) === NLMSG_ERROR && ((seq - firstSeq) >>> 0) <= span) {
          const code = -view.getInt32(at + NLMSG_HDRLEN, true);
          if (code !== 0) {
            if (drain) while (this.receive(into, true) > 0);
            throw new SyscallError(what, code);
          }
          if (seq === lastSeq) return;
        }
        at += align4(len);
      }
    }
    throw new Error(`${what}: no answer from the kernel within 2 s`);
  }

  /**
   * Sends one dump request (message `type`, nfgenmsg `family`, `attributes`) and reads its answers
   * into `into`: `onMessage(view, from, to)` per answer (see `readDump`). Throws the kernel's error as `what`'s.
   */
  dump(type: number, family: number, attributes: DumpAttributes, into: Uint8Array, what: string, onMessage: (view: DataView, from: number, to: number) => void): void {
    const bytes = (this.dumpRequest ??= new Uint8Array(512));
    const view = (this.dumpView ??= new DataView(bytes.buffer));
    const seq = this.nextSeq();
    view.setUint16(4, type, true);
    view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
    view.setUint32(8, seq, true);
    view.setUint32(12, 0, true); // port id: the kernel
    view.setUint8(NLMSG_HDRLEN, family);
    view.setUint8(NLMSG_HDRLEN + 1, 0); // NFNETLINK_V0
    view.setUint16(NLMSG_HDRLEN + 2, 0, false); // res id
    let length = NLMSG_HDRLEN + 4;
    for (let i = 0; i < attributes.length; i++) {
      const [attrType, value] = attributes[i]!;
      const end = length + NLA_HDRLEN + value.length;
      if (align4(end) > bytes.length) throw new RangeError(`${what}: request over ${bytes.length} bytes`);
      view.setUint16(length, NLA_HDRLEN + value.length, true);
      view.setUint16(length + 2, attrType, true);
      bytes.set(value, length + NLA_HDRLEN);
      bytes.fill(0, end, align4(end));
      length = align4(end);
    }
    view.setUint32(0, length, true);
    if ((libc.sendto(this.fd, bytes, length, 0, null, 0) as number) < 0) throw new SyscallError(`send(${what})`, errno());
    this.readDump(seq, into, what, onMessage);
  }

  /**
   * Reads the answers to dump request `seq` into `into` until its end: `onMessage(view, from, to)`
   * per answer with its attributes (after the nfgenmsg). The kernel's error is thrown as `what`'s.
   */
  private readDump(seq: number, into: Uint8Array, what: string, onMessage: (view: DataView, from: number, to: number) => void): void {
    const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
    const deadline = Date.now() + 2000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${what}: no end after 2 s`);
      const n = this.receive(into);
      for (let at = 0; n > 0 && at + NLMSG_HDRLEN <= n; ) {
        const len = view.getUint32(at, true);
        if (len < NLMSG_HDRLEN) break;
        if (view.getUint32(at + 8, true) === seq) {
          const type = view.getUint16(at + 4, true);
          if (type === NLMSG_DONE) return;
          if (type === NLMSG_ERROR) {
            const code = -view.getInt32(at + NLMSG_HDRLEN, true);
            if (code !== 0) throw new SyscallError(what, code);
            return;
          }
          onMessage(view, at + NLMSG_HDRLEN + 4, at + len);
        }
        at += align4(len);
      }
    }
  }

  /**
   * Sends one request without asking for an ack: for changes while packets flow, when waiting for
   * the ack would mean reading (and losing) queued packets. A kernel error comes back as an
   * NLMSG_ERROR that the packet receive skips.
   */
  send(builder: MessageBuilder, what: string): void {
    const message = builder.build(this.nextSeq());
    const sent = libc.sendto(this.fd, message, message.length, 0, null, 0) as number;
    if (sent < 0) throw new SyscallError(`send(${what})`, errno());
  }

  /** One datagram into `into` (blocking up to the receive timeout, unless `dontWait`); -1 when nothing came. */
  receive(into: Uint8Array, dontWait = false): number {
    const iov = (this.receiveIov ??= nativeBytes(16));
    const hdr = (this.receiveHdr ??= nativeBytes(64));
    const iovView = new DataView(iov.buffer);
    writePointer(iovView, 0, addressOf(into));
    iovView.setUint32(8, into.length, true);
    const hdrView = new DataView(hdr.buffer);
    writePointer(hdrView, 16, addressOf(iov)); // msg_iov
    hdrView.setUint32(24, 1, true); // msg_iovlen
    const n = libc.recvmmsg(this.fd, hdr, 1, dontWait ? MSG_DONTWAIT : 0, null) as number;
    if (n < 0) {
      const e = errno();
      if (e === Errno.EAGAIN || e === Errno.EINTR || e === Errno.ENOBUFS) return -1;
      throw new SyscallError('recvmmsg', e);
    }
    return n === 0 ? -1 : hdrView.getUint32(56, true);
  }

  /** sendmsg of a prepared msghdr; returns bytes sent or -errno. */
  sendPrepared(msghdr: Uint8Array): number {
    const n = libc.sendmsg(this.fd, msghdr, 0) as number;
    return n < 0 ? -errno() : n;
  }

  /** recvmmsg over a prepared mmsghdr vector without blocking; returns the count or -errno. */
  receivePrepared(mmsghdrs: Uint8Array, count: number): number {
    const n = libc.recvmmsg(this.fd, mmsghdrs, count, MSG_DONTWAIT, null) as number;
    return n < 0 ? -errno() : n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }
}

