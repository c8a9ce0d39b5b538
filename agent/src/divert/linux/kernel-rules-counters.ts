/**
 * The kernel rules' named counters, read over netlink: one NFT_MSG_GETOBJ dump of the table's
 * counter objects (a spawned `nft` costs 50–130 ms here, a dump microseconds).
 */
import { RULES_TABLE } from './kernel-rules-nft';
import { type CounterValues, type DumpAttributes, forEachAttr, NETLINK_NETFILTER, NetlinkSocket, NFNL_SUBSYS_NFTABLES, NFPROTO_INET, readCounter } from './netlink';

const NFT_MSG_GETOBJ = 19;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;

export class KernelRuleCounters {
  private readonly socket = new NetlinkSocket(NETLINK_NETFILTER);
  private readonly reply = new Uint8Array(64 << 10);
  private readonly request: DumpAttributes = [
    [NFTA_OBJ_TABLE, new TextEncoder().encode(`${RULES_TABLE}\0`)],
    [NFTA_OBJ_TYPE, new Uint8Array([0, 0, 0, NFT_OBJECT_COUNTER])],
  ];
  private readonly decoder = new TextDecoder();
  private readonly counter: CounterValues = { packets: 0, bytes: 0 };

  constructor() {
    this.socket.setReceiveTimeout(500);
  }

  /** Every counter of the table: `onCounter(name, packets, bytes)`. */
  read(onCounter: (name: string, packets: number, bytes: number) => void): void {
    this.socket.dump((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ, NFPROTO_INET, this.request, this.reply, 'nf_tables object dump', (view, from, to) => this.object(view, from, to, onCounter));
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
