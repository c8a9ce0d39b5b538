import { IpProtocol } from './ip-protocol';

/** UDP header (RFC 768) field offsets. */
export const enum UDP {
  SOURCE_PORT = 0, // ..2
  DESTINATION_PORT = 2, // ..4
  LENGTH = 4, // ..6
  CHECKSUM = 6, // ..8
  HEADER_LEN = 8,
}

export const IP_PROTOCOL_UDP = IpProtocol.Udp;
