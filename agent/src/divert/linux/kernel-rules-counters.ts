/**
 * The kernel rules' named counters, read over netlink: one NFT_MSG_GETOBJ dump of the table's
 * counter objects (a spawned `nft` costs 50–130 ms here, a dump microseconds).
 */
import { BatchWriter, type CounterValues, NFNL_SUBSYS_NFTABLES, NFPROTO_INET, readCounter } from './fast-path-netlink';
import { RULES_TABLE } from './kernel-rules-nft';
import { errno, libc, SyscallError } from './libc';
import { forEachAttr, NETLINK_NETFILTER, NetlinkSocket, NLM_F_DUMP, NLM_F_REQUEST } from './netlink';

const NFT_MSG_GETOBJ = 19;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;

export class KernelRuleCounters {
  private readonly socket = new NetlinkSocket(NETLINK_NETFILTER);
  private readonly reply = new Uint8Array(64 << 10);
  private readonly writer = new BatchWriter(() => this.socket.nextSeq());
  private readonly table = new TextEncoder().encode(`${RULES_TABLE}\0`);
  private readonly type = new Uint8Array([0, 0, 0, NFT_OBJECT_COUNTER]);
  private readonly decoder = new TextDecoder();
  private readonly counter: CounterValues = { packets: 0, bytes: 0 };

  constructor() {
    this.socket.setReceiveTimeout(500);
  }

  /** Every counter of the table: `onCounter(name, packets, bytes)`. */
  read(onCounter: (name: string, packets: number, bytes: number) => void): void {
    const w = this.writer;
    w.reset();
    const seq = this.socket.nextSeq();
    w.message((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ, NLM_F_REQUEST | NLM_F_DUMP, NFPROTO_INET, 0, seq);
    w.attr(NFTA_OBJ_TABLE, this.table);
    w.attr(NFTA_OBJ_TYPE, this.type);
    w.close();
    if ((libc.sendto(this.socket.fd, w.bytes, w.length, 0, null, 0) as number) < 0) throw new SyscallError('send(nf_tables object dump)', errno());
    this.socket.readDump(seq, this.reply, 'nf_tables object dump', (view, from, to) => this.object(view, from, to, onCounter));
  }

  private object(view: DataView, from: number, to: number, onCounter: (name: string, packets: number, bytes: number) => void): void {
    let name = '';
    const counter = this.counter;
    counter.packets = 0;
    counter.bytes = 0;
    forEachAttr(view, from, to, (t, f, e) => {
      if (t === NFTA_OBJ_NAME) name = this.decoder.decode(this.reply.subarray(f, e)).replace(/\0+$/, '');
      else if (t === NFTA_OBJ_DATA) readCounter(view, f, e, counter);
    });
    if (name) onCounter(name, counter.packets, counter.bytes);
  }

  close(): void {
    this.socket.close();
  }
}
