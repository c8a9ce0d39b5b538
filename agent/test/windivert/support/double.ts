/**
 * Builds the WinDivert test double with gcc into a temporary folder (once per test file) and
 * binds its Double_* control functions. The binding under test loads the same shared object, so
 * both see one "driver".
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as koffi from 'koffi';
import { ADDRESS_SIZE } from '../../../src/divert/windows/address';

const SOURCE = path.join(__dirname, '..', 'double', 'windivert_double.c');

export interface SentPacket {
  bytes: Buffer;
  address: Buffer;
}

export class WinDivertDouble {
  private readonly fns;

  private constructor(
    readonly libraryPath: string,
    private readonly dir: string,
  ) {
    const lib = koffi.load(libraryPath);
    this.fns = {
      enqueue: lib.func('int Double_Enqueue(const uint8_t *bytes, uint32_t len, const uint8_t *addr)'),
      reset: lib.func('void Double_Reset()'),
      setVersion: lib.func('void Double_SetVersion(uint32_t major, uint32_t minor)'),
      failOpen: lib.func('void Double_FailOpen(int code)'),
      sentCount: lib.func('uint32_t Double_SentCount()'),
      sent: lib.func('uint32_t Double_Sent(uint32_t i, _Out_ uint8_t *buf, uint32_t cap, _Out_ uint8_t *addr)'),
      queued: lib.func('uint32_t Double_Queued()'),
      dropped: lib.func('uint32_t Double_Dropped()'),
      recvCalls: lib.func('uint32_t Double_RecvCalls()'),
      sendCalls: lib.func('uint32_t Double_SendCalls()'),
      openCount: lib.func('uint32_t Double_OpenCount()'),
      closeCount: lib.func('uint32_t Double_CloseCount()'),
      param: lib.func('uint64_t Double_Param(int param)'),
      lastFilter: lib.func('const char *Double_LastFilter()'),
      lastLayer: lib.func('int64_t Double_LastLayer()'),
      lastPriority: lib.func('int64_t Double_LastPriority()'),
      lastFlags: lib.func('uint64_t Double_LastFlags()'),
      layout: lib.func('void Double_Layout(_Out_ uint32_t *out)'),
      bitField: lib.func('uint32_t Double_BitField(int field)'),
    };
  }

  /** Compiles the double (gcc must be on PATH) into a fresh temporary folder. */
  static build(): WinDivertDouble {
    const dir = mkdtempSync(path.join(tmpdir(), 'windivert-double-'));
    const out = path.join(dir, 'libwindivert_double.so');
    try {
      execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-pthread', '-o', out, SOURCE], { stdio: 'pipe' });
    } catch (error) {
      const detail = (error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message;
      throw new Error(`could not build the WinDivert test double with gcc (Debian: apt-get install gcc libc6-dev): ${detail}`);
    }
    return new WinDivertDouble(out, dir);
  }

  /** Queues a diverted packet with a full 80-byte address. */
  enqueue(bytes: Uint8Array, address: Uint8Array): boolean {
    if (address.byteLength !== ADDRESS_SIZE) throw new Error('address must be 80 bytes');
    return this.fns.enqueue(bytes, bytes.byteLength, address) === 1;
  }

  reset(): void {
    this.fns.reset();
  }

  setVersion(major: number, minor: number): void {
    this.fns.setVersion(major, minor);
  }

  failOpen(code: number): void {
    this.fns.failOpen(code);
  }

  sent(): SentPacket[] {
    const out: SentPacket[] = [];
    const count = this.fns.sentCount() as number;
    for (let i = 0; i < count; i++) {
      const buf = Buffer.alloc(65575);
      const address = Buffer.alloc(ADDRESS_SIZE);
      const len = this.fns.sent(i, buf, buf.length, address) as number;
      out.push({ bytes: buf.subarray(0, len), address });
    }
    return out;
  }

  get queued(): number {
    return this.fns.queued() as number;
  }
  get dropped(): number {
    return this.fns.dropped() as number;
  }
  get recvCalls(): number {
    return this.fns.recvCalls() as number;
  }
  get sendCalls(): number {
    return this.fns.sendCalls() as number;
  }
  get openCount(): number {
    return this.fns.openCount() as number;
  }
  get closeCount(): number {
    return this.fns.closeCount() as number;
  }
  param(param: number): number {
    return Number(this.fns.param(param));
  }
  lastOpen(): { filter: string; layer: number; priority: number; flags: number } {
    return {
      filter: this.fns.lastFilter() as string,
      layer: Number(this.fns.lastLayer()),
      priority: Number(this.fns.lastPriority()),
      flags: Number(this.fns.lastFlags()),
    };
  }
  layout(): { size: number; timestamp: number; reserved2: number; union: number; ifIdx: number; subIfIdx: number } {
    const out = new Uint32Array(6);
    this.fns.layout(out);
    return { size: out[0]!, timestamp: out[1]!, reserved2: out[2]!, union: out[3]!, ifIdx: out[4]!, subIfIdx: out[5]! };
  }
  bitField(field: number): number {
    return (this.fns.bitField(field) as number) >>> 0;
  }

  /** Removes the temporary build folder (the loaded library stays mapped until exit). */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
