/**
 * IP protocol numbers of the transports the engine rewrites, as a `const enum` so the packet path
 * gets literals (the IP_PROTOCOL_* constants of tcp.ts / udp.ts are the same numbers).
 */
export const enum IpProtocol {
  Tcp = 6,
  Udp = 17,
}
