import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AdapterInfo } from './dataplane';

const SYS_NET = '/sys/class/net';
const NO_MAC = '00:00:00:00:00:00';

/**
 * The host's adapters. On Linux every interface in /sys/class/net counts (also those that are down
 * and have no address), with its kernel ifindex; elsewhere what `os.networkInterfaces()` knows,
 * numbered in listing order.
 */
export async function listAdapters(): Promise<AdapterInfo[]> {
  const interfaces = os.networkInterfaces();
  const fromOs = (name: string) => {
    const entries = interfaces[name] ?? [];
    return {
      macs: unique(entries.map((e) => e.mac).filter((mac) => mac !== NO_MAC)),
      addresses: unique(entries.map((e) => e.address)),
    };
  };

  const sysNames = await fs.readdir(SYS_NET).catch(() => null);
  if (sysNames === null) {
    return Object.keys(interfaces).map((name, i) => ({ name, index: i + 1, ...fromOs(name) }));
  }
  const adapters = await Promise.all(
    sysNames.map(async (name): Promise<AdapterInfo> => {
      const index = Number((await readSys(name, 'ifindex')) ?? 0);
      const own = fromOs(name);
      const mac = (await readSys(name, 'address'))?.toLowerCase();
      const macs = mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) && mac !== NO_MAC ? unique([mac, ...own.macs]) : own.macs;
      return { name, index, macs, addresses: own.addresses };
    }),
  );
  return adapters.sort((a, b) => a.index - b.index);
}

async function readSys(name: string, attribute: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(SYS_NET, name, attribute), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
