import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { DataPlane } from '../divert/dataplane';
import type { OffloadSink } from '../divert/linux/fast-path';
import { MemoryDataPlane, parseTapAddress } from '../divert/memory';
import { CliError } from './cli-error';

export const DATAPLANE_KINDS = ['memory', 'linux', 'windivert'] as const;
export type DataPlaneKind = (typeof DATAPLANE_KINDS)[number];

const LINUX_MODULE = path.join(__dirname, '..', 'divert', 'linux', 'linux.js');

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * `--dataplane` left out: the kernel plane of this OS when it can run (Linux needs root for
 * NFQUEUE and its steering rules), else memory. The reason is logged with the choice.
 */
export function defaultDataPlane(): { kind: DataPlaneKind; reason: string } {
  if (process.platform === 'win32') return { kind: 'windivert', reason: 'Windows host' };
  if (process.platform === 'linux') {
    if (!isRoot()) return { kind: 'memory', reason: 'not root: the Linux data plane needs root (NFQUEUE, iptables)' };
    if (!existsSync(LINUX_MODULE)) return { kind: 'memory', reason: `the Linux data plane is not built (${LINUX_MODULE})` };
    return { kind: 'linux', reason: 'root on Linux' };
  }
  return { kind: 'memory', reason: `no kernel data plane for ${process.platform}` };
}

/** Builds the plane; one that cannot run here fails with "<kind> data plane unavailable: <reason>". */
export function createDataPlane(kind: DataPlaneKind, options: { tap?: string; offloadTo?: OffloadSink }): DataPlane {
  if (options.tap !== undefined && kind !== 'memory') throw new CliError(`--tap works only with --dataplane memory, not ${kind}`);
  switch (kind) {
    case 'memory':
      return new MemoryDataPlane({ tap: options.tap === undefined ? undefined : parseTapAddress(options.tap) });
    case 'linux': {
      if (process.platform !== 'linux') throw unavailable(kind, `needs Linux, this is ${process.platform}`);
      if (!isRoot()) throw unavailable(kind, 'needs root (NFQUEUE and iptables steering rules)');
      // Loaded only when chosen: it binds libc through koffi at import.
      const linux = loadModule<typeof import('../divert/linux/linux')>(kind, () => require('../divert/linux/linux'));
      const plane = new linux.LinuxDataPlane();
      if (options.offloadTo) plane.offloadTo(options.offloadTo);
      return plane;
    }
    case 'windivert': {
      if (process.platform !== 'win32') throw unavailable(kind, `needs Windows with the WinDivert driver, this is ${process.platform}`);
      const windows = loadModule<typeof import('../divert/windows/windows')>(kind, () => require('../divert/windows/windows'));
      return new windows.WinDivertDataPlane();
    }
  }
}

function loadModule<T>(kind: DataPlaneKind, load: () => unknown): T {
  try {
    return load() as T;
  } catch (error) {
    throw unavailable(kind, (error as Error).message.split('\n')[0]!);
  }
}

function unavailable(kind: DataPlaneKind, reason: string): CliError {
  return new CliError(`${kind === 'windivert' ? 'windivert' : kind} data plane unavailable: ${reason}`);
}
