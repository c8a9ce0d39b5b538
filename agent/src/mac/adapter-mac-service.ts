import { setTimeout as sleep } from 'node:timers/promises';
import type { AdapterInfo } from '../divert/dataplane';
import type { StateStore } from '../control/state-store';
import { MacChangeError, type MacChanger } from './mac-changer';
import { parseMac, randomMac } from './mac-address';

/** What a MAC operation did: the adapter's address now, and the whole inventory after it. */
export interface MacChangeResult {
  adapter: string;
  mac: string;
  /** The address recorded before the first change (restore goes back to it). */
  original: string;
  adapters: AdapterInfo[];
}

export interface AdapterMacServiceOptions {
  store: StateStore;
  changer: MacChanger;
  listAdapters: () => Promise<AdapterInfo[]>;
  /** How long a changed address may take to show in the inventory (Windows restarts the adapter). */
  settleMs?: number;
}

/**
 * MAC changes as users of MAC changers expect them: a typed address, a random one from a vendor's
 * OUI, and restore. The adapter's original address is written to the state folder before the
 * first change, so restore works after any number of changes and agent restarts.
 */
export class AdapterMacService {
  constructor(private readonly options: AdapterMacServiceOptions) {}

  list(): Promise<AdapterInfo[]> {
    return this.options.listAdapters();
  }

  async setMac(ref: string, macText: string): Promise<MacChangeResult> {
    return this.change(ref, parseMac(macText));
  }

  async randomMac(ref: string, vendor = ''): Promise<MacChangeResult> {
    return this.change(ref, randomMac(vendor));
  }

  async restoreMac(ref: string): Promise<MacChangeResult> {
    const { store, changer } = this.options;
    const adapter = await this.find(ref);
    const originals = (await store.readAdapters())?.originalMacs ?? {};
    const original = originals[adapter.name];
    if (original === undefined) throw new MacChangeError(`the MAC of ${adapter.name} was never changed by this agent: nothing to restore`);
    await changer.restoreMac(adapter, original);
    const result = await this.settle(adapter.name, original);
    const { [adapter.name]: _restored, ...rest } = originals;
    await store.writeAdapters({ originalMacs: rest });
    return { ...result, original };
  }

  private async change(ref: string, mac: string): Promise<MacChangeResult> {
    const { store, changer } = this.options;
    const adapter = await this.find(ref);
    const current = adapter.macs[0];
    if (current === undefined) throw new MacChangeError(`${adapter.name} has no MAC address (not an Ethernet-like adapter)`);
    await store.init();
    const originals = (await store.readAdapters())?.originalMacs ?? {};
    const original = originals[adapter.name] ?? current;
    // Recorded before the change: a crash in between still leaves the way back.
    if (originals[adapter.name] === undefined) await store.writeAdapters({ originalMacs: { ...originals, [adapter.name]: current } });
    await changer.setMac(adapter, mac);
    return { ...(await this.settle(adapter.name, mac)), original };
  }

  /** Waits until the inventory shows `mac` on the adapter; a driver that ignored it is an error. */
  private async settle(name: string, mac: string): Promise<Omit<MacChangeResult, 'original'>> {
    const deadline = Date.now() + (this.options.settleMs ?? 10_000);
    for (;;) {
      const adapters = await this.options.listAdapters();
      const now = adapters.find((a) => a.name === name)?.macs[0];
      if (now === mac) return { adapter: name, mac, adapters };
      if (Date.now() >= deadline) throw new MacChangeError(`${name} still reports ${now ?? 'no MAC'} instead of ${mac}: the driver did not take the address`);
      await sleep(200);
    }
  }

  /** By name, or by interface index in decimal (as the controller and the CLI pass it). */
  private async find(ref: string): Promise<AdapterInfo> {
    const adapters = await this.options.listAdapters();
    const found = adapters.find((a) => a.name === ref) ?? (/^\d+$/.test(ref) ? adapters.find((a) => a.index === Number(ref)) : undefined);
    if (!found) throw new MacChangeError(`no adapter "${ref}" on this host (adapters: ${adapters.map((a) => `${a.name}#${a.index}`).join(', ') || 'none'})`);
    return found;
  }
}
