import { IpProtocol } from './ip-protocol';

/** TCP header (RFC 9293) field offsets. */
export const enum TCP {
  SOURCE_PORT = 0, // ..2
  DESTINATION_PORT = 2, // ..4
  SEQUENCE = 4, // ..8
  ACK = 8, // ..12
  DATA_OFFSET = 12, // high nibble, in 32-bit words
  FLAGS = 13,
  WINDOW = 14, // ..16
  CHECKSUM = 16, // ..18
  URGENT = 18, // ..20
  MIN_HEADER_LEN = 20,
}

export const enum TcpFlag {
  Fin = 0x01,
  Syn = 0x02,
  Rst = 0x04,
  Psh = 0x08,
  Ack = 0x10,
}

export const IP_PROTOCOL_TCP = IpProtocol.Tcp;
