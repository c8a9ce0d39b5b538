/**
 * The few libc calls the Linux data plane needs, through koffi (no compiler, no native addon of our
 * own). Buffers are passed as Uint8Arrays: for synchronous calls koffi hands C the array's own
 * backing store, which V8 never moves, so addresses taken with `addressOf` stay valid while the
 * array is alive (structures that hold pointers — iovecs, msghdrs — point into such arrays).
 */
import * as koffi from 'koffi';

const lib = koffi.load('libc.so.6');

export const libc = {
  socket: lib.func('int socket(int domain, int type, int protocol)'),
  bind: lib.func('int bind(int fd, void *addr, uint32_t len)'),
  setsockopt: lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)'),
  getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Inout_ uint8_t *value, _Inout_ uint32_t *len)'),
  recvmmsg: lib.func('int recvmmsg(int fd, void *msgvec, uint32_t vlen, int flags, void *timeout)'),
  sendmsg: lib.func('int sendmsg(int fd, void *msg, int flags)'),
  sendto: lib.func('int sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)'),
  close: lib.func('int close(int fd)'),
  /** Sends from an address (array address + offset) rather than an array's start. */
  sendtoAt: lib.func('sendto', 'int', ['int', 'uintptr_t', 'size_t', 'int', 'void *', 'uint32_t']),
  /** Copies by address (array address + offset): a JS byte loop would be far too slow for 64 KB. */
  memcpyAt: lib.func('memcpy', 'void', ['uintptr_t', 'uintptr_t', 'size_t']),
  /** Waits for readiness; run with `.async` so the event loop stays free while idle. */
  poll: lib.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)'),
  strerror: lib.func('const char *strerror(int errnum)'),
  memchr: lib.func('void *memchr(void *s, int c, size_t n)'),
  sched_setscheduler: lib.func('int sched_setscheduler(int pid, int policy, void *param)'),
};

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
/** Or'ed into the policy: threads and processes started by this thread get the normal scheduler. */
export const SCHED_RESET_ON_FORK = 0x4000_0000;

export function errno(): number {
  return koffi.errno();
}

export const Errno = {
  EINTR: 4,
  ENOENT: 2,
  EPERM: 1,
  EAGAIN: 11,
  ENOBUFS: 105,
  EMSGSIZE: 90,
} as const;

/** A failed system call, with errno and its text. */
export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: ${libc.strerror(errno) as string} (errno ${errno})`);
    this.name = 'SyscallError';
  }
}

/** Throws a SyscallError when a call returned a negative value. */
export function check(call: string, result: number): number {
  if (result < 0) throw new SyscallError(call, errno());
  return result;
}

/**
 * The address of `array[0]`. memchr returns the address of the byte it finds; the arrays passed
 * are ones this module's callers own for their whole life, so the address stays valid.
 */
export function addressOf(array: Uint8Array): number {
  if (array.length === 0) throw new RangeError('addressOf needs a non-empty array');
  const saved = array[0]!;
  array[0] = 0xa5;
  const found = libc.memchr(array, 0xa5, 1) as bigint | null;
  array[0] = saved;
  if (found === null) throw new Error('addressOf: memchr found nothing');
  return Number(found);
}

/**
 * Bytes whose address is handed to the kernel. Made from an explicit ArrayBuffer: V8 keeps small
 * typed arrays made from a length inside its heap, where the GC may move them.
 */
export function nativeBytes(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(Math.max(length, 8)));
}

/** Writes a 64-bit pointer (a number below 2^53) little-endian, without BigInt. */
export function writePointer(view: DataView, at: number, address: number): void {
  view.setUint32(at, address % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(address / 0x1_0000_0000), true);
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_MARK = 36;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_BINDTODEVICE = 25;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const POLLIN = 1;

/** setsockopt with a 32-bit integer value. */
export function setIntOption(fd: number, level: number, name: number, value: number, what: string): void {
  const buf = new Uint8Array(4);
  new DataView(buf.buffer).setInt32(0, value, true);
  check(`setsockopt(${what})`, libc.setsockopt(fd, level, name, buf, 4) as number);
}

export function getIntOption(fd: number, level: number, name: number, what: string): number {
  const buf = new Uint8Array(4);
  const len = new Uint32Array([4]);
  check(`getsockopt(${what})`, libc.getsockopt(fd, level, name, buf, len) as number);
  return new DataView(buf.buffer).getInt32(0, true);
}
