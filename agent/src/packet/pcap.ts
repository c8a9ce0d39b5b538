/**
 * Writes classic libpcap files (for checking the engine's output with other decoders and for
 * debugging captures). Layer-3 packets get a synthetic Ethernet header so one file holds both.
 */
import { ETHERNET, EtherType } from './ethernet';

const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  bytes: Uint8Array;
  /** The bytes start with an Ethernet header. */
  layer2: boolean;
  timeMs?: number;
}

export function writePcap(records: readonly PcapRecord[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16); // snap length
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  parts.push(header);
  records.forEach((record, i) => {
    let frame = Buffer.from(record.bytes);
    if (!record.layer2) {
      const eth = Buffer.alloc(ETHERNET.HEADER_LEN);
      eth.writeUInt16BE(record.bytes[0]! >>> 4 === 6 ? EtherType.Ipv6 : EtherType.Ipv4, ETHERNET.ETHERTYPE);
      eth[ETHERNET.SOURCE] = 0x02; // locally administered, so decoders show no vendor
      eth[ETHERNET.DESTINATION] = 0x02;
      frame = Buffer.concat([eth, frame]);
    }
    const time = record.timeMs ?? i;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(time / 1000), 0);
    rec.writeUInt32LE((time % 1000) * 1000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}
