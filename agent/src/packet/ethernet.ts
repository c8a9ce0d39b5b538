/** Ethernet II frame header (IEEE 802.3), with up to two 802.1Q / 802.1ad VLAN tags. */
export const enum ETHERNET {
  DESTINATION = 0, // ..6
  SOURCE = 6, // ..12
  ETHERTYPE = 12, // ..14
  HEADER_LEN = 14,
  TAG_LEN = 4,
}

export const enum EtherType {
  Ipv4 = 0x0800,
  Ipv6 = 0x86dd,
  Vlan = 0x8100,
  QinQ = 0x88a8,
}

export const MAC_LEN = 6;

/**
 * Offset of the network header inside a frame starting at `start` (its EtherType is the two
 * bytes before it); -1 when the frame is too short for its header(s).
 */
export function ethernetPayload(dv: DataView, start: number, end: number): number {
  let at = start + ETHERNET.ETHERTYPE;
  for (let tags = 0; ; tags++) {
    if (at + 2 > end) return -1;
    const type = dv.getUint16(at);
    if ((type === EtherType.Vlan || type === EtherType.QinQ) && tags < 2) {
      at += ETHERNET.TAG_LEN;
      continue;
    }
    return at + 2;
  }
}
