/**
 * The WinDivert 2.2 user-mode API (`WinDivert.dll`) through koffi. Only what the data plane needs:
 * open, batched receive/send, shutdown, close, parameters. The library path is injectable so the
 * test suite can load an ABI-compatible double; on Windows the DLL and its driver
 * (`WinDivert64.sys`) live in `<agent>/windivert/` (or `PORTFLEET_WINDIVERT_DIR`).
 */
import * as path from 'node:path';
import * as koffi from 'koffi';
import { ADDRESS_SIZE } from './address';

/** Names and values from WinDivert 2.2's `windivert.h`. */
export const WINDIVERT = {
  LAYER_NETWORK: 0,
  LAYER_NETWORK_FORWARD: 1,
  FLAG_SNIFF: 0x1,
  FLAG_DROP: 0x2,
  FLAG_RECV_ONLY: 0x4,
  FLAG_SEND_ONLY: 0x8,
  FLAG_NO_INSTALL: 0x10,
  PARAM_QUEUE_LENGTH: 0,
  PARAM_QUEUE_TIME: 1,
  PARAM_QUEUE_SIZE: 2,
  PARAM_VERSION_MAJOR: 3,
  PARAM_VERSION_MINOR: 4,
  SHUTDOWN_RECV: 1,
  SHUTDOWN_SEND: 2,
  SHUTDOWN_BOTH: 3,
  PRIORITY_HIGHEST: 30000,
  PRIORITY_LOWEST: -30000,
  QUEUE_LENGTH: { min: 32, max: 16384, default: 4096 },
  QUEUE_TIME_MS: { min: 100, max: 16000, default: 2000 },
  QUEUE_SIZE: { min: 65535, max: 33554432, default: 4194304 },
  BATCH_MAX: 255,
  /** Largest packet RecvEx can return (outbound packets before large-send offload). */
  MTU_MAX: 40 + 0xffff,
} as const;

export type WinDivertParam = 0 | 1 | 2 | 3 | 4;

/** GetLastError codes WinDivert documents, by name, for messages an operator can act on. */
export const WINDOWS_ERRORS: Readonly<Record<number, string>> = {
  2: 'ERROR_FILE_NOT_FOUND (WinDivert64.sys not found next to WinDivert.dll)',
  5: 'ERROR_ACCESS_DENIED (the agent must run as Administrator / LocalSystem)',
  6: 'ERROR_INVALID_HANDLE',
  87: 'ERROR_INVALID_PARAMETER (bad filter, layer, priority, flags or parameter value)',
  122: 'ERROR_INSUFFICIENT_BUFFER (packet larger than the receive buffer)',
  232: 'ERROR_NO_DATA (handle shut down and queue empty)',
  577: 'ERROR_INVALID_IMAGE_HASH (driver signature not accepted)',
  654: 'ERROR_DRIVER_FAILED_PRIOR_UNLOAD (another WinDivert version is loaded; reboot or `sc stop WinDivert`)',
  995: 'ERROR_OPERATION_ABORTED',
  1060: 'ERROR_SERVICE_DOES_NOT_EXIST (driver not installed and FLAG_NO_INSTALL given)',
  1232: 'ERROR_HOST_UNREACHABLE (impostor packet TTL reached zero)',
  1275: 'ERROR_DRIVER_BLOCKED (blocked by security software or the virtualisation host)',
  1753: 'EPT_S_NOT_REGISTERED (Base Filtering Engine service is disabled)',
};
export const ERROR_INSUFFICIENT_BUFFER = 122;
export const ERROR_NO_DATA = 232;
export const ERROR_HOST_UNREACHABLE = 1232;

export class WinDivertError extends Error {
  constructor(
    readonly call: string,
    readonly code: number,
  ) {
    super(`${call} failed: ${WINDOWS_ERRORS[code] ?? `Windows error ${code}`}`);
    this.name = 'WinDivertError';
  }
}

/** The driver version this agent was written and verified against. */
export const REQUIRED_VERSION = { major: 2, minor: 2 } as const;

/** `<agent>/windivert/WinDivert.dll`, or `$PORTFLEET_WINDIVERT_DIR/WinDivert.dll`. */
export function defaultLibraryPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.PORTFLEET_WINDIVERT_DIR ?? path.resolve(__dirname, '..', '..', '..', 'windivert');
  return path.join(dir, 'WinDivert.dll');
}

export interface WinDivertLibraryOptions {
  /** Path of WinDivert.dll (or of the test double). */
  path: string;
  /**
   * Reads the error of the call that just failed. Default: `GetLastError` on Windows (koffi keeps
   * it intact, also for async calls), `errno` elsewhere (what the test double sets).
   */
  lastError?: () => number;
}

type Fn = ReturnType<koffi.LibraryHandle['func']>;
const INVALID_HANDLE_VALUE = 0xffff_ffff_ffff_ffffn;

/** A loaded WinDivert.dll. */
export class WinDivertLibrary {
  private constructor(
    readonly fns: {
      open: Fn;
      recvEx: Fn;
      sendEx: Fn;
      shutdown: Fn;
      close: Fn;
      setParam: Fn;
      getParam: Fn;
    },
    readonly lastError: () => number,
  ) {}

  static load(options: WinDivertLibraryOptions): WinDivertLibrary {
    const lib = koffi.load(options.path);
    const fns = {
      open: lib.func('void *WinDivertOpen(const char *filter, int layer, int16_t priority, uint64_t flags)'),
      recvEx: lib.func(
        'int WinDivertRecvEx(void *handle, void *pPacket, uint32_t packetLen, uint32_t *pRecvLen, uint64_t flags, void *pAddr, uint32_t *pAddrLen, void *lpOverlapped)',
      ),
      sendEx: lib.func(
        'int WinDivertSendEx(void *handle, void *pPacket, uint32_t packetLen, uint32_t *pSendLen, uint64_t flags, void *pAddr, uint32_t addrLen, void *lpOverlapped)',
      ),
      shutdown: lib.func('int WinDivertShutdown(void *handle, int how)'),
      close: lib.func('int WinDivertClose(void *handle)'),
      setParam: lib.func('int WinDivertSetParam(void *handle, int param, uint64_t value)'),
      getParam: lib.func('int WinDivertGetParam(void *handle, int param, uint64_t *pValue)'),
    };
    return new WinDivertLibrary(fns, options.lastError ?? defaultLastError());
  }

  /** WinDivertOpen; throws WinDivertError (with the documented reason) on failure. */
  open(filter: string, layer: number, priority: number, flags: number): WinDivertHandle {
    const handle: unknown = this.fns.open(filter, layer, priority, flags);
    if (handle === null || koffi.address(handle) === INVALID_HANDLE_VALUE) {
      throw new WinDivertError('WinDivertOpen', this.lastError());
    }
    return new WinDivertHandle(this, handle);
  }
}

function defaultLastError(): () => number {
  if (process.platform !== 'win32') return () => koffi.errno();
  const getLastError = koffi.load('kernel32.dll').func('uint32_t __stdcall GetLastError()');
  return () => getLastError() as number;
}

/** One open WinDivert handle. Buffers passed in are reused by the caller across calls. */
export class WinDivertHandle {
  /** Out-parameters, allocated once per handle. */
  private readonly recvLen = new Uint32Array(1);
  private readonly addrLen = new Uint32Array(1);
  private readonly sendLen = new Uint32Array(1);
  private readonly value = new BigUint64Array(1);
  private closed = false;

  constructor(
    private readonly lib: WinDivertLibrary,
    private readonly handle: unknown,
  ) {}

  /**
   * WinDivertRecvEx on a koffi worker thread (it blocks until packets arrive or the handle is shut
   * down): up to `maxCount` packets packed into `packets`, their addresses into `addresses`.
   * Resolves with the count (the byte total is `bytesReceived`); rejects with WinDivertError.
   */
  receive(packets: Uint8Array, addresses: Uint8Array, maxCount: number): Promise<number> {
    const count = Math.min(maxCount, WINDIVERT.BATCH_MAX, Math.floor(addresses.byteLength / ADDRESS_SIZE));
    this.addrLen[0] = count * ADDRESS_SIZE;
    this.recvLen[0] = 0;
    return new Promise((resolve, reject) => {
      this.lib.fns.recvEx.async(
        this.handle,
        packets,
        packets.byteLength,
        this.recvLen,
        0,
        addresses,
        this.addrLen,
        null,
        (err: unknown, ok: number) => {
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else if (!ok) reject(new WinDivertError('WinDivertRecvEx', this.lib.lastError()));
          else resolve(this.addrLen[0]! / ADDRESS_SIZE);
        },
      );
    });
  }

  /** Bytes written to `packets` by the last successful `receive`. */
  get bytesReceived(): number {
    return this.recvLen[0]!;
  }

  /**
   * WinDivertSendEx of `count` packets packed into `packets[0 .. byteLength)` with their
   * addresses in `addresses`. Returns 0 on success, else the Windows error code (the caller
   * decides: retry one by one, count as dropped).
   */
  send(packets: Uint8Array, byteLength: number, addresses: Uint8Array, count: number): number {
    const ok = this.lib.fns.sendEx(this.handle, packets, byteLength, this.sendLen, 0, addresses, count * ADDRESS_SIZE, null);
    return ok ? 0 : this.lib.lastError();
  }

  /** Sends packet `start .. start + length` of `packets` alone with address `index`. */
  sendOne(packets: Uint8Array, start: number, length: number, addresses: Uint8Array, index: number): number {
    const bytes = packets.subarray(start, start + length);
    const address = addresses.subarray(index * ADDRESS_SIZE, (index + 1) * ADDRESS_SIZE);
    return this.send(bytes, length, address, 1);
  }

  shutdown(how: number): void {
    if (!this.lib.fns.shutdown(this.handle, how)) throw new WinDivertError('WinDivertShutdown', this.lib.lastError());
  }

  setParam(param: WinDivertParam, value: number): void {
    if (!this.lib.fns.setParam(this.handle, param, value)) {
      throw new WinDivertError(`WinDivertSetParam(${param}, ${value})`, this.lib.lastError());
    }
  }

  getParam(param: WinDivertParam): number {
    if (!this.lib.fns.getParam(this.handle, param, this.value)) {
      throw new WinDivertError(`WinDivertGetParam(${param})`, this.lib.lastError());
    }
    return Number(this.value[0]);
  }

  /** The driver's version, checked at start: the agent refuses a driver other than 2.x ≥ 2.2. */
  checkVersion(): { major: number; minor: number } {
    const major = this.getParam(WINDIVERT.PARAM_VERSION_MAJOR);
    const minor = this.getParam(WINDIVERT.PARAM_VERSION_MINOR);
    if (major !== REQUIRED_VERSION.major || minor < REQUIRED_VERSION.minor) {
      throw new Error(
        `WinDivert driver ${major}.${minor} is loaded; the agent needs ${REQUIRED_VERSION.major}.${REQUIRED_VERSION.minor} or a later 2.x ` +
          '(replace WinDivert.dll and WinDivert64.sys, then `sc stop WinDivert` or reboot to unload the old driver)',
      );
    }
    return { major, minor };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.lib.fns.close(this.handle)) throw new WinDivertError('WinDivertClose', this.lib.lastError());
  }
}
