import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { AdapterInfo } from '../divert/dataplane';
import { MacChangeError, type MacChanger } from './mac-changer';

const run = promisify(execFile);
const IFF_UP = 0x1;

/**
 * `ip link` argument lists for a MAC change. Many drivers refuse a new address while the link is
 * up, so an up interface is taken down for the change and brought up again.
 */
export function linuxSetMacCommands(name: string, mac: string, isUp: boolean): string[][] {
  const set = ['link', 'set', 'dev', name, 'address', mac];
  return isUp ? [['link', 'set', 'dev', name, 'down'], set, ['link', 'set', 'dev', name, 'up']] : [set];
}

/** Linux: iproute2's `ip link set dev X address Y` (rtnetlink RTM_SETLINK IFLA_ADDRESS); needs CAP_NET_ADMIN. */
export class LinuxMacChanger implements MacChanger {
  constructor(private readonly ip = 'ip') {}

  async setMac(adapter: AdapterInfo, mac: string): Promise<void> {
    const isUp = await this.isUp(adapter.name);
    const commands = linuxSetMacCommands(adapter.name, mac, isUp);
    for (const [i, args] of commands.entries()) {
      try {
        await run(this.ip, args);
      } catch (error) {
        // Never leave an interface down because its new address was refused.
        if (isUp && i > 0) await run(this.ip, ['link', 'set', 'dev', adapter.name, 'up']).catch(() => undefined);
        const e = error as { stderr?: string; message: string; code?: string };
        const why = e.code === 'ENOENT' ? `${this.ip} not found (install iproute2)` : (e.stderr || e.message).trim();
        throw new MacChangeError(`ip ${args.join(' ')} failed: ${why}`);
      }
    }
  }

  restoreMac(adapter: AdapterInfo, original: string): Promise<void> {
    return this.setMac(adapter, original);
  }

  private async isUp(name: string): Promise<boolean> {
    const flags = await readFile(`/sys/class/net/${name}/flags`, 'utf8').catch(() => '0x1');
    return (parseInt(flags.trim(), 16) & IFF_UP) !== 0;
  }
}
