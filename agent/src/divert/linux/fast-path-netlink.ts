/**
 * The fast path's element changes as nf_tables netlink batches (NFT_MSG_NEWSETELEM /
 * NFT_MSG_DELSETELEM between NFNL_MSG_BATCH_BEGIN and _END: one kernel transaction), sent on a
 * NETLINK_NETFILTER socket of our own. The kernel applies a batch inside the send and queues
 * its acks, so waiting for them takes microseconds — where a spawned `nft` took 50–130 ms on this
 * machine under load, during which a new flow's packets kept crossing to userspace.
 * Byte layout as nft writes it: concatenated keys pad each field to 4 bytes; addresses and ports
 * big-endian; marks in host order (little-endian here).
 */
import { changedFields, type FlowEntry, FAST_TABLE, Field, idMapName } from './fast-path-nft';
import { FlowKind } from './flow-table';
import { libc, SyscallError, errno } from './libc';
import { align4, NETLINK_NETFILTER, NetlinkSocket, NLA_HDRLEN, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_HDRLEN } from './netlink';

const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;
const NLM_F_CREATE = 0x400;
const NLA_F_NESTED = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_TIMEOUT = 4;
const NFTA_SET_ELEM_EXPIRATION = 5;
const NFTA_DATA_VALUE = 1;

/** One element change: add (with data, and a timeout that also restarts its expiry) or delete. */
export interface ElementChange {
  set: string;
  key: Uint8Array;
  /** Absent for a delete. */
  data?: Uint8Array;
  timeoutMs?: number;
  delete?: boolean;
}

function attr(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(NLA_HDRLEN + value.length));
  const view = new DataView(out.buffer);
  view.setUint16(0, NLA_HDRLEN + value.length, true);
  view.setUint16(2, type, true);
  out.set(value, NLA_HDRLEN);
  return out;
}

function nested(type: number, parts: Uint8Array[]): Uint8Array {
  return attr(type | NLA_F_NESTED, concat(parts));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(`${value}\0`);
}

function be64(ms: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(ms), false);
  return out;
}

function message(type: number, flags: number, family: number, resId: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(NLMSG_HDRLEN + 4 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  out[NLMSG_HDRLEN] = family;
  view.setUint16(NLMSG_HDRLEN + 2, resId, false);
  out.set(body, NLMSG_HDRLEN + 4);
  return out;
}

/** A key/data field: an address (1 or 4 words) or a port, big-endian, padded to 4 bytes. */
export function addressBytes(words: Uint32Array, at: number, count: number): Uint8Array {
  const out = new Uint8Array(4 * count);
  const view = new DataView(out.buffer);
  for (let w = 0; w < count; w++) view.setUint32(4 * w, words[at + w]!, false);
  return out;
}

export function portBytes(port: number, padded: boolean): Uint8Array {
  const out = new Uint8Array(padded ? 4 : 2);
  new DataView(out.buffer).setUint16(0, port, false);
  return out;
}

export function markBytes(mark: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, mark >>> 0, true);
  return out;
}

/** The lookup key of a tuple: source address . source port . destination address . destination port. */
export function tupleKey(ipv6: boolean, tuple: Uint32Array, at: number): Uint8Array {
  const words = ipv6 ? 4 : 1;
  const ports = tuple[at + 8]!;
  return concat([addressBytes(tuple, at, words), portBytes(ports >>> 16, true), addressBytes(tuple, at + 4, words), portBytes(ports & 0xffff, true)]);
}

/** The changes that install an entry (rewrite elements first, then its lookup element) or remove it. */
export function entryChanges(e: FlowEntry, timeoutMs: number): ElementChange[] {
  const out: ElementChange[] = rewriteElements(e).map(({ map, data }) => ({ set: map, key: markBytes(e.mark | e.id), data }));
  out.push(lookupChange(e, timeoutMs));
  return out;
}

/** The lookup element with its expiry restarted (adding it again keeps its counter). */
export function lookupChange(e: FlowEntry, timeoutMs: number): ElementChange {
  const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
  return { set: idMapName(e.kind), key: tupleKey(ipv6, e.input, e.at), data: markBytes(e.mark | e.id), timeoutMs };
}

export function removalChanges(e: FlowEntry, lookup: boolean): ElementChange[] {
  const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
  const out: ElementChange[] = [];
  if (lookup) out.push({ set: idMapName(e.kind), key: tupleKey(ipv6, e.input, e.at), delete: true });
  for (const { map } of rewriteElements(e)) out.push({ set: map, key: markBytes(e.mark | e.id), delete: true });
  return out;
}

function rewriteElements(e: FlowEntry): { map: string; data: Uint8Array }[] {
  const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
  const words = ipv6 ? 4 : 1;
  const fields = changedFields(ipv6, e.input, e.at, e.output, e.at);
  const v = ipv6 ? 6 : 4;
  const ports = e.output[e.at + 8]!;
  const out: { map: string; data: Uint8Array }[] = [];
  if (fields & Field.SADDR) out.push({ map: `saddr${v}`, data: addressBytes(e.output, e.at, words) });
  if (fields & Field.DADDR) out.push({ map: `daddr${v}`, data: addressBytes(e.output, e.at + 4, words) });
  if (fields & Field.SPORT) out.push({ map: 'sport', data: portBytes(ports >>> 16, false) });
  if (fields & Field.DPORT) out.push({ map: 'dport', data: portBytes(ports & 0xffff, false) });
  return out;
}

export class NftNetlink {
  private readonly socket = new NetlinkSocket(NETLINK_NETFILTER);
  private readonly reply = new Uint8Array(64 << 10);

  constructor() {
    this.socket.setReceiveTimeout(500);
  }

  /** Applies the changes as one transaction; throws the kernel's error (nothing applied then). */
  apply(changes: ElementChange[]): void {
    if (changes.length === 0) return;
    const seqs: number[] = [];
    const parts: Uint8Array[] = [message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, this.socket.nextSeq(), new Uint8Array(0))];
    for (const c of changes) {
      const element: Uint8Array[] = [nested(NFTA_SET_ELEM_KEY, [attr(NFTA_DATA_VALUE, c.key)])];
      if (!c.delete) {
        if (c.data) element.push(nested(NFTA_SET_ELEM_DATA, [attr(NFTA_DATA_VALUE, c.data)]));
        if (c.timeoutMs !== undefined) element.push(attr(NFTA_SET_ELEM_TIMEOUT, be64(c.timeoutMs)), attr(NFTA_SET_ELEM_EXPIRATION, be64(c.timeoutMs)));
      }
      const body = concat([
        attr(NFTA_SET_ELEM_LIST_TABLE, text(FAST_TABLE)),
        attr(NFTA_SET_ELEM_LIST_SET, text(c.set)),
        nested(NFTA_SET_ELEM_LIST_ELEMENTS, [nested(NFTA_LIST_ELEM, element)]),
      ]);
      const seq = this.socket.nextSeq();
      seqs.push(seq);
      const type = (NFNL_SUBSYS_NFTABLES << 8) | (c.delete ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM);
      parts.push(message(type, NLM_F_REQUEST | NLM_F_ACK | (c.delete ? 0 : NLM_F_CREATE), NFPROTO_INET, 0, seq, body));
    }
    parts.push(message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, this.socket.nextSeq(), new Uint8Array(0)));
    const batch = concat(parts);
    const sent = libc.sendto(this.socket.fd, batch, batch.length, 0, null, 0) as number;
    if (sent < 0) throw new SyscallError('send(nf_tables batch)', errno());
    this.awaitAcks(new Set(seqs));
  }

  /** Reads acks until every sequence number is acknowledged; the first error aborts (the kernel rolled back). */
  private awaitAcks(waiting: Set<number>): void {
    const view = new DataView(this.reply.buffer);
    const deadline = Date.now() + 2000;
    while (waiting.size > 0) {
      if (Date.now() > deadline) throw new Error(`nf_tables batch: ${waiting.size} acks missing after 2 s`);
      const n = this.socket.receive(this.reply);
      for (let at = 0; n > 0 && at + NLMSG_HDRLEN <= n; ) {
        const len = view.getUint32(at, true);
        if (len < NLMSG_HDRLEN) break;
        if (view.getUint16(at + 4, true) === NLMSG_ERROR) {
          const seq = view.getUint32(at + 8, true);
          const code = -view.getInt32(at + NLMSG_HDRLEN, true);
          if (code !== 0) {
            // Drain the rest of this batch's answers so the next batch starts clean.
            while (this.socket.receive(this.reply, true) > 0);
            throw new SyscallError('nf_tables batch', code);
          }
          waiting.delete(seq);
        }
        at += align4(len);
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}
