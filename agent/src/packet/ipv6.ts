/** IPv6 header (RFC 8200) field offsets and the extension headers the parser walks. */
export const enum IPV6 {
  VERSION_TC_FLOW = 0, // ..4
  PAYLOAD_LEN = 4, // ..6
  NEXT_HEADER = 6,
  HOP_LIMIT = 7,
  SOURCE = 8, // ..24
  DESTINATION = 24, // ..40
  HEADER_LEN = 40,
  ADDRESS_LEN = 16,
}

export const enum Ipv6Ext {
  HopByHop = 0,
  Routing = 43,
  Fragment = 44,
  Esp = 50,
  Auth = 51,
  NoNext = 59,
  DestinationOptions = 60,
  Mobility = 135,
}

/** Fragment header: next header, reserved, offset(13 bits) | res(2) | M(1), identification. */
export const enum IPV6_FRAGMENT {
  OFFSET_FLAGS = 2,
  HEADER_LEN = 8,
}
/** Routing header: next header, length in 8-byte units after the first 8, type, segments left. */
export const enum IPV6_ROUTING {
  SEGMENTS_LEFT = 3,
}
