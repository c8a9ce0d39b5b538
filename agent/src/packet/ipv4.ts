/** IPv4 header (RFC 791) field offsets. */
export const enum IPV4 {
  VERSION_IHL = 0,
  TOS = 1,
  TOTAL_LEN = 2, // ..4
  IDENT = 4, // ..6
  FLAGS_FRAGMENT = 6, // ..8: 3 flag bits, 13-bit offset in 8-byte units
  TTL = 8,
  PROTOCOL = 9,
  CHECKSUM = 10, // ..12
  SOURCE = 12, // ..16
  DESTINATION = 16, // ..20
  MIN_HEADER_LEN = 20,
  ADDRESS_LEN = 4,
}

/** Bits of the flags/fragment-offset word (a const enum too, so the packet path gets literals). */
export const enum IPV4_FRAGMENT {
  MORE = 0x2000,
  OFFSET_MASK = 0x1fff,
}
export const IPV4_MORE_FRAGMENTS = IPV4_FRAGMENT.MORE;
export const IPV4_FRAGMENT_OFFSET_MASK = IPV4_FRAGMENT.OFFSET_MASK;
