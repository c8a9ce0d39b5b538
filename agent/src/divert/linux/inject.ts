/**
 * Puts packets on the wire that the kernel did not hand us for that purpose: reflected and
 * adapter-rerouted packets (their queued original is dropped) and engine-emitted clones.
 *   - IP packets: `socket(AF_INET|AF_INET6, SOCK_RAW, IPPROTO_RAW)` (header included); the kernel
 *     routes them (through the chosen adapter when one is given, via SO_BINDTODEVICE) and fills in
 *     the IPv4 header checksum; the transport checksum must already be complete.
 *   - Ethernet frames: `socket(AF_PACKET, SOCK_RAW)` sent as-is out of the given adapter.
 * Every socket carries `mark` (SO_MARK) so the steering rules let injected packets pass instead of
 * queueing them again.
 */
import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  check,
  errno,
  libc,
  nativeBytes,
  setIntOption,
  SO_BINDTODEVICE,
  SO_MARK,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
} from './libc';

const IPPROTO_RAW = 255;
const ETH_P_ALL_BE = 0x0300; // htons(0x0003)

export class Injector {
  private readonly v4 = new Map<number, number>();
  private readonly v6 = new Map<number, number>();
  private packetFd = -1;
  private readonly addr4 = nativeBytes(16);
  private readonly addr6 = nativeBytes(28);
  private readonly addrLl = nativeBytes(20);
  private readonly addrLlView = new DataView(this.addrLl.buffer);
  /** Packets the kernel refused (errno in lastError): counted, never retried. */
  failures = 0;
  lastError = 0;

  constructor(
    private readonly mark: number,
    /** Adapter names by index, for SO_BINDTODEVICE. */
    private readonly adapterName: (ifIndex: number) => string | undefined,
  ) {
    new DataView(this.addr4.buffer).setUint16(0, AF_INET, true);
    new DataView(this.addr6.buffer).setUint16(0, AF_INET6, true);
    this.addrLlView.setUint16(0, AF_PACKET, true);
    this.addrLlView.setUint16(2, ETH_P_ALL_BE, true);
  }

  /**
   * Sends the IP packet at `address` (`length` bytes; `data` holds the same bytes at `start`,
   * read for the destination address). `ifIndex` 0 lets routing choose the adapter.
   */
  sendIp(data: Uint8Array, start: number, address: number, length: number, ifIndex: number): boolean {
    const version = data[start]! >>> 4;
    let fd: number;
    let sa: Uint8Array;
    let saLength: number;
    if (version === 4) {
      fd = this.ipSocket(this.v4, AF_INET, ifIndex);
      sa = this.addr4;
      for (let k = 0; k < 4; k++) sa[4 + k] = data[start + 16 + k]!;
      saLength = 16;
    } else if (version === 6) {
      fd = this.ipSocket(this.v6, AF_INET6, ifIndex);
      sa = this.addr6;
      for (let k = 0; k < 16; k++) sa[8 + k] = data[start + 24 + k]!;
      saLength = 28;
    } else {
      return this.fail(22); // EINVAL
    }
    if ((libc.sendtoAt(fd, address, length, 0, sa, saLength) as number) < 0) return this.fail(errno());
    return true;
  }

  /** Sends an Ethernet frame out of adapter `ifIndex` exactly as given. */
  sendFrame(address: number, length: number, ifIndex: number): boolean {
    if (this.packetFd < 0) {
      this.packetFd = check('socket(AF_PACKET)', libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0) as number);
      setIntOption(this.packetFd, SOL_SOCKET, SO_MARK, this.mark, 'SO_MARK');
    }
    this.addrLlView.setInt32(4, ifIndex, true);
    if ((libc.sendtoAt(this.packetFd, address, length, 0, this.addrLl, 20) as number) < 0) return this.fail(errno());
    return true;
  }

  /** One raw socket per (family, adapter), made on first use and kept. */
  private ipSocket(cache: Map<number, number>, family: number, ifIndex: number): number {
    const known = cache.get(ifIndex);
    if (known !== undefined) return known;
    const fd = check('socket(SOCK_RAW, IPPROTO_RAW)', libc.socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW) as number);
    try {
      setIntOption(fd, SOL_SOCKET, SO_MARK, this.mark, 'SO_MARK');
      if (ifIndex !== 0) {
        const name = this.adapterName(ifIndex);
        if (name === undefined) throw new Error(`no adapter with index ${ifIndex}`);
        const bytes = nativeBytes(name.length + 1);
        for (let k = 0; k < name.length; k++) bytes[k] = name.charCodeAt(k);
        check(`setsockopt(SO_BINDTODEVICE ${name})`, libc.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bytes, name.length + 1) as number);
      }
    } catch (error) {
      libc.close(fd);
      throw error;
    }
    cache.set(ifIndex, fd);
    return fd;
  }

  private fail(code: number): boolean {
    this.failures++;
    this.lastError = code;
    return false;
  }

  close(): void {
    for (const fd of [...this.v4.values(), ...this.v6.values()]) libc.close(fd);
    this.v4.clear();
    this.v6.clear();
    if (this.packetFd >= 0) libc.close(this.packetFd);
    this.packetFd = -1;
  }
}
