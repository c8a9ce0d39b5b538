/**
 * The kernel rules' named counters, read over netlink: one NFT_MSG_GETOBJ dump of the table's
 * counter objects (a spawned `nft` costs 50–130 ms here, a dump microseconds).
 */
import { BatchWriter } from './fast-path-netlink';
import { RULES_TABLE } from './kernel-rules-nft';
import { errno, libc, SyscallError } from './libc';
import { align4, NETLINK_NETFILTER, NetlinkSocket, NLA_HDRLEN, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './netlink';

const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETOBJ = 19;
const NLM_F_DUMP = 0x300;
const NFPROTO_INET = 1;
const NLA_F_NESTED = 0x8000;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;

export class KernelRuleCounters {
  private readonly socket = new NetlinkSocket(NETLINK_NETFILTER);
  private readonly reply = new Uint8Array(64 << 10);
  private readonly writer = new BatchWriter(() => this.socket.nextSeq());
  private readonly table = new TextEncoder().encode(`${RULES_TABLE}\0`);
  private readonly type = new Uint8Array([0, 0, 0, NFT_OBJECT_COUNTER]);
  private readonly decoder = new TextDecoder();

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
    const view = new DataView(this.reply.buffer);
    const deadline = Date.now() + 2000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('nf_tables object dump: no end after 2 s');
      const n = this.socket.receive(this.reply);
      for (let at = 0; n > 0 && at + NLMSG_HDRLEN <= n; ) {
        const len = view.getUint32(at, true);
        if (len < NLMSG_HDRLEN) break;
        if (view.getUint32(at + 8, true) === seq) {
          const type = view.getUint16(at + 4, true);
          if (type === NLMSG_DONE) return;
          if (type === NLMSG_ERROR) {
            const code = -view.getInt32(at + NLMSG_HDRLEN, true);
            if (code !== 0) throw new SyscallError('nf_tables object dump', code);
            return;
          }
          this.object(view, at + NLMSG_HDRLEN + 4, at + len, onCounter);
        }
        at += align4(len);
      }
    }
  }

  private object(view: DataView, from: number, to: number, onCounter: (name: string, packets: number, bytes: number) => void): void {
    let name = '';
    let packets = 0;
    let bytes = 0;
    forEachAttr(view, from, to, (t, f, e) => {
      if (t === NFTA_OBJ_NAME) name = this.decoder.decode(this.reply.subarray(f, e)).replace(/\0+$/, '');
      else if (t === NFTA_OBJ_DATA) {
        forEachAttr(view, f, e, (ct, cf) => {
          if (ct === NFTA_COUNTER_PACKETS) packets = Number(view.getBigUint64(cf, false));
          else if (ct === NFTA_COUNTER_BYTES) bytes = Number(view.getBigUint64(cf, false));
        });
      }
    });
    if (name) onCounter(name, packets, bytes);
  }

  close(): void {
    this.socket.close();
  }
}

function forEachAttr(view: DataView, from: number, to: number, visit: (type: number, from: number, to: number) => void): void {
  for (let at = from; at + NLA_HDRLEN <= to; ) {
    const len = view.getUint16(at, true);
    if (len < NLA_HDRLEN) return;
    visit(view.getUint16(at + 2, true) & ~NLA_F_NESTED, at + NLA_HDRLEN, Math.min(at + len, to));
    at += align4(len);
  }
}
