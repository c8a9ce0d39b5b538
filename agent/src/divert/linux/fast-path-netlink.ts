/**
 * The fast path's element changes as nf_tables netlink batches (NFT_MSG_NEWSETELEM /
 * NFT_MSG_DELSETELEM between NFNL_MSG_BATCH_BEGIN and _END: one kernel transaction), sent on a
 * NETLINK_NETFILTER socket of our own. The kernel applies a batch inside the send and queues
 * its acks, so waiting for them takes microseconds — where a spawned `nft` took 50–130 ms on this
 * machine under load, during which a new flow's packets kept crossing to userspace.
 * Byte layout as nft writes it: concatenated keys pad each field to 4 bytes; addresses and ports
 * big-endian; marks in host order (little-endian here).
 */
import { changedFields, type FlowEntry, FAST_TABLE, Field, FIN_SET, ID_MAP_NAMES, idMapName, RST_SET } from './fast-path-nft';
import { FlowKind } from './flow-table';
import { libc, SyscallError, errno } from './libc';
import {
  align4,
  type CounterValues,
  type DumpAttributes,
  forEachAttr,
  NETLINK_NETFILTER,
  NetlinkSocket,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_INET,
  NLA_F_NESTED,
  NLA_HDRLEN,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  readCounter,
} from './netlink';

const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_GETSETELEM = 13;
const NFT_MSG_DELSETELEM = 14;
/** Delete, and absent is no error (Linux 6.3+). */
const NFT_MSG_DESTROYSETELEM = 30;
const NLM_F_CREATE = 0x400;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_TIMEOUT = 4;
const NFTA_SET_ELEM_EXPIRATION = 5;
const NFTA_SET_ELEM_EXPR = 7;
const NFTA_SET_ELEM_EXPRESSIONS = 11;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;

/** One element change: add (with data, and a timeout that also restarts its expiry) or delete (or destroy: absent is fine). */
export interface ElementChange {
  set: string;
  key: Uint8Array;
  /** Absent for a delete. */
  data?: Uint8Array;
  timeoutMs?: number;
  delete?: boolean;
  destroy?: boolean;
}

/** NUL-terminated names, encoded once. */
const names = new Map<string, Uint8Array>();
function nameBytes(value: string): Uint8Array {
  let bytes = names.get(value);
  if (!bytes) names.set(value, (bytes = new TextEncoder().encode(`${value}\0`)));
  return bytes;
}

/** A set's element dump request attributes (table and set), made once per set. */
const dumpRequests = new Map<string, DumpAttributes>();
function dumpAttributes(set: string): DumpAttributes {
  let attributes = dumpRequests.get(set);
  if (!attributes) {
    dumpRequests.set(set, (attributes = [[NFTA_SET_ELEM_LIST_TABLE, nameBytes(FAST_TABLE)], [NFTA_SET_ELEM_LIST_SET, nameBytes(set)]]));
  }
  return attributes;
}

/**
 * Writes one nf_tables batch into a buffer made once: messages and (nested) attributes in place,
 * lengths patched when each closes. (Building it from small arrays and copies cost ~90 µs per
 * install here — on the path of a conversation's first packet.)
 */
export class BatchWriter {
  readonly bytes = new Uint8Array(MAX_BATCH_BYTES);
  private readonly view = new DataView(this.bytes.buffer);
  length = 0;
  /** Start offsets of the open message and nested attributes. */
  private readonly open = new Int32Array(8);
  private depth = 0;
  /** The transaction's last element message: its offset (-1: none yet) and sequence number. */
  private lastAt = -1;
  private lastSeq = 0;
  /** Sequence number of the transaction's first message. */
  firstSeq = 0;

  constructor(private readonly nextSeq: () => number) {}

  reset(): void {
    this.length = 0;
    this.depth = 0;
  }

  /** Starts a transaction: element changes follow, then `end`. */
  begin(): void {
    this.reset();
    this.firstSeq = this.nextSeq();
    this.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, this.firstSeq);
    this.close();
    this.lastAt = -1;
  }

  /** Ends the transaction, its last change asking for the ack; returns that change's sequence number (0: no change). */
  end(): number {
    if (this.lastAt < 0) return 0;
    this.view.setUint16(this.lastAt + 6, this.view.getUint16(this.lastAt + 6, true) | NLM_F_ACK, true);
    this.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, this.nextSeq());
    this.close();
    this.lastAt = -1;
    return this.lastSeq;
  }

  /** One element change. */
  putChange(c: ElementChange): void {
    this.openElement(c.set, c.destroy ? NFT_MSG_DESTROYSETELEM : c.delete ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM);
    this.attr(NFTA_DATA_VALUE, c.key);
    if (!c.delete && c.data) {
      this.elementData();
      this.attr(NFTA_DATA_VALUE, c.data);
    }
    this.closeElement(c.delete ? -1 : (c.timeoutMs ?? -1));
  }

  /**
   * The changes that install entry `e`, written without allocating: rewrite elements for the
   * fields it changes, then its lookup element (the same bytes as `entryChanges` through `putChange`).
   */
  putEntry(e: FlowEntry, timeoutMs: number): void {
    const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
    const words = ipv6 ? 4 : 1;
    const fields = changedFields(ipv6, e.input, e.at, e.output, e.at);
    const mark = (e.mark | e.id) >>> 0;
    const ports = e.output[e.at + 8]!;
    for (const field of REWRITE_FIELDS) {
      if ((fields & field) === 0) continue;
      this.openElement(rewriteMap(field, ipv6), NFT_MSG_NEWSETELEM);
      this.valueMark(mark);
      this.elementData();
      if (field === Field.SADDR) this.valueWords(e.output, e.at, words);
      else if (field === Field.DADDR) this.valueWords(e.output, e.at + 4, words);
      else this.valuePort(field === Field.SPORT ? ports >>> 16 : ports);
      this.closeElement(-1);
    }
    this.openElement(idMapName(e.kind), NFT_MSG_NEWSETELEM);
    this.valueTuple(ipv6, e.input, e.at);
    this.elementData();
    this.valueMark(mark);
    this.closeElement(timeoutMs);
  }

  /** Opens one element change up to its key's value, which comes next. */
  private openElement(set: string, type: number): void {
    this.lastSeq = this.nextSeq();
    this.lastAt = this.length;
    this.message((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | (type === NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0), NFPROTO_INET, 0, this.lastSeq);
    this.attr(NFTA_SET_ELEM_LIST_TABLE, nameBytes(FAST_TABLE));
    this.attr(NFTA_SET_ELEM_LIST_SET, nameBytes(set));
    this.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    this.nest(NFTA_LIST_ELEM);
    this.nest(NFTA_SET_ELEM_KEY);
  }

  /** Closes the key; the data's value comes next. */
  private elementData(): void {
    this.close();
    this.nest(NFTA_SET_ELEM_DATA);
  }

  /** Closes the key (or data), adds the timeout (when ≥ 0), closes the element's message. */
  private closeElement(timeoutMs: number): void {
    this.close();
    if (timeoutMs >= 0) {
      this.attrBe64(NFTA_SET_ELEM_TIMEOUT, timeoutMs);
      this.attrBe64(NFTA_SET_ELEM_EXPIRATION, timeoutMs);
    }
    this.close(); // list element
    this.close(); // elements
    this.close(); // message
  }

  message(type: number, flags: number, family: number, resId: number, seq: number): void {
    const at = this.length;
    const v = this.view;
    v.setUint16(at + 4, type, true);
    v.setUint16(at + 6, flags, true);
    v.setUint32(at + 8, seq, true);
    v.setUint32(at + 12, 0, true); // port id: the kernel
    v.setUint8(at + NLMSG_HDRLEN, family);
    v.setUint8(at + NLMSG_HDRLEN + 1, 0); // version
    v.setUint16(at + NLMSG_HDRLEN + 2, resId, false);
    this.open[this.depth++] = at;
    this.length = at + NLMSG_HDRLEN + 4;
  }

  nest(type: number): void {
    this.view.setUint16(this.length + 2, type | NLA_F_NESTED, true);
    this.open[this.depth++] = this.length;
    this.length += NLA_HDRLEN;
  }

  /** Closes the innermost nested attribute or message: its length is what was written since. */
  close(): void {
    const at = this.open[--this.depth]!;
    const length = this.length - at;
    if (this.depth === 0) this.view.setUint32(at, length, true);
    else this.view.setUint16(at, length, true);
  }

  attr(type: number, value: Uint8Array): void {
    const at = this.length;
    this.view.setUint16(at, NLA_HDRLEN + value.length, true);
    this.view.setUint16(at + 2, type, true);
    this.bytes.set(value, at + NLA_HDRLEN);
    this.pad(at + NLA_HDRLEN + value.length);
  }

  /** An NFTA_DATA_VALUE of `words[at ..]` (count words) big-endian, as a key or data value. */
  valueWords(words: Uint32Array, at: number, count: number): void {
    const start = this.length;
    const v = this.view;
    v.setUint16(start, NLA_HDRLEN + 4 * count, true);
    v.setUint16(start + 2, NFTA_DATA_VALUE, true);
    for (let w = 0; w < count; w++) v.setUint32(start + NLA_HDRLEN + 4 * w, words[at + w]!, false);
    this.length = start + NLA_HDRLEN + 4 * count;
  }

  /** An NFTA_DATA_VALUE of a port (2 bytes, big-endian, padded). */
  valuePort(port: number): void {
    const v = this.view;
    v.setUint16(this.length, NLA_HDRLEN + 2, true);
    v.setUint16(this.length + 2, NFTA_DATA_VALUE, true);
    v.setUint32(this.length + NLA_HDRLEN, (port & 0xffff) << 16, false);
    this.length += NLA_HDRLEN + 4;
  }

  /** An NFTA_DATA_VALUE of a mark (host order, little-endian here). */
  valueMark(mark: number): void {
    const v = this.view;
    v.setUint16(this.length, NLA_HDRLEN + 4, true);
    v.setUint16(this.length + 2, NFTA_DATA_VALUE, true);
    v.setUint32(this.length + NLA_HDRLEN, mark, true);
    this.length += NLA_HDRLEN + 4;
  }

  /** An NFTA_DATA_VALUE of a lookup key: source address . source port . destination address . destination port, each padded to 4 bytes. */
  valueTuple(ipv6: boolean, tuple: Uint32Array, at: number): void {
    const words = ipv6 ? 4 : 1;
    const v = this.view;
    const start = this.length;
    v.setUint16(start, NLA_HDRLEN + 8 * words + 8, true);
    v.setUint16(start + 2, NFTA_DATA_VALUE, true);
    const ports = tuple[at + 8]!;
    let k = start + NLA_HDRLEN;
    for (let w = 0; w < words; w++, k += 4) v.setUint32(k, tuple[at + w]!, false);
    v.setUint32(k, ports & 0xffff0000, false);
    k += 4;
    for (let w = 0; w < words; w++, k += 4) v.setUint32(k, tuple[at + 4 + w]!, false);
    v.setUint32(k, (ports & 0xffff) << 16, false);
    this.length = k + 4;
  }

  attrBe64(type: number, value: number): void {
    const at = this.length;
    this.view.setUint16(at, NLA_HDRLEN + 8, true);
    this.view.setUint16(at + 2, type, true);
    this.view.setBigUint64(at + NLA_HDRLEN, BigInt(value), false);
    this.length = at + NLA_HDRLEN + 8;
  }

  private pad(end: number): void {
    const aligned = align4(end);
    this.bytes.fill(0, end, aligned);
    this.length = aligned;
  }
}

function putBe32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** A key/data field: an address (1 or 4 words) or a port, big-endian, padded to 4 bytes. */
export function addressBytes(words: Uint32Array, at: number, count: number): Uint8Array {
  const out = new Uint8Array(4 * count);
  for (let w = 0; w < count; w++) putBe32(out, 4 * w, words[at + w]!);
  return out;
}

export function portBytes(port: number, padded: boolean): Uint8Array {
  const out = new Uint8Array(padded ? 4 : 2);
  out[0] = port >>> 8;
  out[1] = port;
  return out;
}

export function markBytes(mark: number): Uint8Array {
  const out = new Uint8Array(4);
  out[0] = mark;
  out[1] = mark >>> 8;
  out[2] = mark >>> 16;
  out[3] = mark >>> 24;
  return out;
}

/** The lookup key of a tuple: source address . source port . destination address . destination port. */
export function tupleKey(ipv6: boolean, tuple: Uint32Array, at: number): Uint8Array {
  const words = ipv6 ? 4 : 1;
  const ports = tuple[at + 8]!;
  const out = new Uint8Array(8 * words + 8);
  for (let w = 0; w < words; w++) {
    putBe32(out, 4 * w, tuple[at + w]!);
    putBe32(out, 4 * words + 4 + 4 * w, tuple[at + 4 + w]!);
  }
  out[4 * words] = ports >>> 24;
  out[4 * words + 1] = ports >>> 16;
  out[8 * words + 4] = ports >>> 8;
  out[8 * words + 5] = ports;
  return out;
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

/**
 * The changes that remove an entry: its lookup element (`'delete'`: it must be there; `'destroy'`:
 * it may have timed out already; `'keep'`: it timed out) and its rewrite elements.
 */
export function removalChanges(e: FlowEntry, lookup: 'delete' | 'destroy' | 'keep'): ElementChange[] {
  const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
  const out: ElementChange[] = [];
  if (lookup !== 'keep') out.push({ set: idMapName(e.kind), key: tupleKey(ipv6, e.input, e.at), delete: true, destroy: lookup === 'destroy' });
  for (const { map } of rewriteElements(e)) out.push({ set: map, key: markBytes(e.mark | e.id), delete: true });
  return out;
}

/**
 * Takes an entry's mark out of the FIN or RST set once read (`destroy`: where the kernel allows
 * it, absent is no error), so that the entry number, once reused, starts clean.
 */
export function endChange(mark: number, rst: boolean, destroy: boolean): ElementChange {
  return { set: rst ? RST_SET : FIN_SET, key: markBytes(mark), delete: true, destroy };
}

const REWRITE_FIELDS = [Field.SADDR, Field.DADDR, Field.SPORT, Field.DPORT] as const;

/** The rewrite map of a field. */
function rewriteMap(field: Field, v6: boolean): string {
  if (field === Field.SADDR) return v6 ? 'saddr6' : 'saddr4';
  if (field === Field.DADDR) return v6 ? 'daddr6' : 'daddr4';
  return field === Field.SPORT ? 'sport' : 'dport';
}

function rewriteElements(e: FlowEntry): { map: string; data: Uint8Array }[] {
  const ipv6 = (e.kind & FlowKind.IPV6) !== 0;
  const words = ipv6 ? 4 : 1;
  const fields = changedFields(ipv6, e.input, e.at, e.output, e.at);
  const ports = e.output[e.at + 8]!;
  const out: { map: string; data: Uint8Array }[] = [];
  if (fields & Field.SADDR) out.push({ map: rewriteMap(Field.SADDR, ipv6), data: addressBytes(e.output, e.at, words) });
  if (fields & Field.DADDR) out.push({ map: rewriteMap(Field.DADDR, ipv6), data: addressBytes(e.output, e.at + 4, words) });
  if (fields & Field.SPORT) out.push({ map: rewriteMap(Field.SPORT, ipv6), data: portBytes(ports >>> 16, false) });
  if (fields & Field.DPORT) out.push({ map: rewriteMap(Field.DPORT, ipv6), data: portBytes(ports & 0xffff, false) });
  return out;
}

/**
 * Changes per transaction at most: keeps one batch datagram (~100 bytes a change) far below the
 * socket's send buffer, and bounds what one failure sends back to be retried entry by entry.
 */
export const MAX_CHANGES_PER_TRANSACTION = 256;
/** Room for a transaction of that many changes (an IPv6 lookup element is the largest, < 160 bytes). */
const MAX_BATCH_BYTES = 64 << 10;

export class NftNetlink {
  private readonly socket = new NetlinkSocket(NETLINK_NETFILTER);
  private readonly reply = new Uint8Array(64 << 10);
  private readonly writer = new BatchWriter(() => this.socket.nextSeq());
  /** Sequence number of the sent transaction's last message, until `confirm` (0: none). */
  private unconfirmed = 0;

  constructor() {
    this.socket.setReceiveTimeout(500);
    this.socket.capAcks();
  }

  /**
   * Applies the changes as one transaction; throws the kernel's error (nothing applied then).
   * Only the last message asks for an ack: the kernel reports every failing message anyway, so
   * a success is one small answer, not one per element (thousands of full-length acks overflowed
   * the receive buffer and were lost, and the wait for them stalled the packet path for seconds).
   */
  apply(changes: ElementChange[]): void {
    if (changes.length === 0) return;
    if (changes.length > MAX_CHANGES_PER_TRANSACTION) throw new RangeError(`at most ${MAX_CHANGES_PER_TRANSACTION} changes per nf_tables transaction, got ${changes.length}`);
    this.writer.begin();
    for (const c of changes) this.writer.putChange(c);
    this.send();
    this.confirm();
  }

  /** The transaction being written (`begin`, `putEntry`, `putChange`), sent by `send`. */
  get transaction(): BatchWriter {
    return this.writer;
  }

  /**
   * Ends the transaction and sends it: the kernel applies it inside this call. Only its last
   * message asks for an ack (see `apply`), which `confirm` reads — on the packet path, after the
   * verdicts.
   */
  send(): void {
    const w = this.writer;
    const lastSeq = w.end();
    if (lastSeq === 0) return;
    const sent = libc.sendto(this.socket.fd, w.bytes, w.length, 0, null, 0) as number;
    if (sent < 0) throw new SyscallError('send(nf_tables batch)', errno());
    this.unconfirmed = lastSeq;
  }

  /**
   * Reads the sent transaction's answer; throws the kernel's error (then nothing of it was
   * applied, and the kernel queued all its answers inside the send: the rest is drained).
   */
  confirm(): void {
    const seq = this.unconfirmed;
    if (seq === 0) return;
    this.unconfirmed = 0;
    this.socket.awaitAck(this.writer.firstSeq, seq, this.reply, 'nf_tables batch', true);
  }

  /** Whether the kernel takes NFT_MSG_DESTROYSETELEM: destroying an element that is not there succeeds. */
  canDestroy(): boolean {
    try {
      this.apply([{ set: ID_MAP_NAMES[0]!, key: new Uint8Array(16), delete: true, destroy: true }]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Every lookup element's counter, by entry number (the low 16 bits of its mark): one
   * NFT_MSG_GETSETELEM dump per lookup map. (Spawning `nft -j list table` for this cost a process
   * and megabytes of JSON a second once thousands of short connections were in the kernel.)
   */
  readCounters(onEntry: (id: number, packets: number, bytes: number) => void): void {
    for (const set of ID_MAP_NAMES) this.dump(set, (view, from, to) => readElement(view, from, to, onEntry));
  }

  /** The entry numbers whose packets included a TCP FIN, or a RST (the kernel filled those sets). */
  readEnds(onEnd: (id: number, rst: boolean) => void): void {
    for (const rst of [false, true]) {
      this.dump(rst ? RST_SET : FIN_SET, (view, from, to) => {
        forEachAttr(view, from, to, (t, f, e) => {
          if (t === NFTA_SET_ELEM_KEY) forEachAttr(view, f, e, (kt, kf) => kt === NFTA_DATA_VALUE && onEnd(view.getUint32(kf, true) & 0xffff, rst));
        });
      });
    }
  }

  /** One NFT_MSG_GETSETELEM dump of `set`: `onElement(view, from, to)` per element's attributes. */
  private dump(set: string, onElement: (view: DataView, from: number, to: number) => void): void {
    this.socket.dump((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, NFPROTO_INET, dumpAttributes(set), this.reply, 'nf_tables element dump', (view, from, to) => {
      forEachAttr(view, from, to, (t, lf, lt) => {
        if (t === NFTA_SET_ELEM_LIST_ELEMENTS) forEachAttr(view, lf, lt, (_, ef, et) => onElement(view, ef, et));
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Reused by every element read: the dumps are synchronous and run every poll over thousands of elements. */
const elementCounter: CounterValues = { packets: 0, bytes: 0 };

/** One element of a dump: its mark (data) and its counter expression. */
function readElement(view: DataView, from: number, to: number, onEntry: (id: number, packets: number, bytes: number) => void): void {
  let mark = -1;
  elementCounter.packets = 0;
  elementCounter.bytes = 0;
  const counter = (ef: number, et: number) => {
    let isCounter = false;
    forEachAttr(view, ef, et, (t, f) => {
      if (t === NFTA_EXPR_NAME) isCounter = view.getUint32(f, false) === 0x636f756e; // "coun"
    });
    if (!isCounter) return;
    forEachAttr(view, ef, et, (t, f, e) => {
      if (t === NFTA_EXPR_DATA) readCounter(view, f, e, elementCounter);
    });
  };
  forEachAttr(view, from, to, (t, f, e) => {
    if (t === NFTA_SET_ELEM_DATA) forEachAttr(view, f, e, (dt, df) => dt === NFTA_DATA_VALUE && (mark = view.getUint32(df, true)));
    else if (t === NFTA_SET_ELEM_EXPR) counter(f, e);
    else if (t === NFTA_SET_ELEM_EXPRESSIONS) forEachAttr(view, f, e, (_, lf, le) => counter(lf, le));
  });
  if (mark >= 0) onEntry(mark & 0xffff, elementCounter.packets, elementCounter.bytes);
}
