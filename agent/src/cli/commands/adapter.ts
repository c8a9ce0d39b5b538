import type { Command } from 'commander';
import { listAdapters } from '../../divert/adapters';
import type { AdapterInfo } from '../../divert/dataplane';
import { listWindowsAdapters } from '../../divert/windows/adapters';
import { StateStore } from '../../control/state-store';
import { AdapterMacService, type MacChangeResult } from '../../mac/adapter-mac-service';
import { MacAddressError, vendorOf, LOCAL_VENDOR } from '../../mac/mac-address';
import { MacChangeError } from '../../mac/mac-changer';
import { OUI_VENDORS } from '../../mac/oui-vendors';
import { platformMacChanger } from '../../mac/platform-mac-changer';
import { CliError } from '../cli-error';
import { announce } from '../log';
import { stateDirOption } from '../state-dir-option';

function hostAdapters(): Promise<AdapterInfo[]> {
  return process.platform === 'win32' ? listWindowsAdapters() : listAdapters();
}

async function macService(stateDir: string): Promise<{ service: AdapterMacService; store: StateStore }> {
  const changer = platformMacChanger();
  if (!changer) throw new CliError(`changing MAC addresses is implemented for Linux and Windows, not ${process.platform}`);
  const store = new StateStore(stateDir);
  return { service: new AdapterMacService({ store, changer, listAdapters: hostAdapters }), store };
}

/** Runs a MAC operation; the result goes to stdout as one PORTFLEET_AGENT_MAC line. */
async function report(operation: () => Promise<MacChangeResult>): Promise<void> {
  try {
    const result = await operation();
    announce(`PORTFLEET_AGENT_MAC adapter=${result.adapter} mac=${result.mac} original=${result.original}`);
  } catch (error) {
    if (error instanceof MacAddressError || error instanceof MacChangeError) throw new CliError(error.message);
    throw error;
  }
}

export function adapterCommand(program: Command): void {
  const adapter = program.command('adapter').description('list network adapters and change their MAC addresses (root / Administrator)');

  adapter
    .command('list')
    .description('print the adapters as the agent reports them (name, index, MACs, addresses)')
    .option('--json', 'print one JSON array')
    .addOption(stateDirOption())
    .action(async (options: { json?: boolean; stateDir: string }) => {
      const adapters = await hostAdapters();
      const originals = (await new StateStore(options.stateDir).readAdapters().catch(() => null))?.originalMacs ?? {};
      if (options.json) {
        process.stdout.write(`${JSON.stringify(adapters.map((a) => ({ ...a, originalMac: originals[a.name] ?? null })))}\n`);
        return;
      }
      for (const a of adapters) {
        const mac = a.macs[0];
        const vendor = mac ? vendorOf(mac) : undefined;
        const changed = originals[a.name] ? ` (changed; original ${originals[a.name]})` : '';
        process.stdout.write(`${a.index}\t${a.name}\t${mac ?? '-'}${vendor ? ` [${vendor}]` : ''}${changed}\t${a.addresses.join(' ') || '-'}\n`);
      }
    });

  adapter
    .command('set-mac')
    .description('give ADAPTER (name or index) the MAC address MAC; the original is remembered for restore-mac')
    .argument('<adapter>', 'adapter name or interface index')
    .argument('<mac>', 'new address: aa:bb:cc:dd:ee:ff, aa-bb-…, aabb.ccdd.eeff or aabbccddeeff (unicast)')
    .addOption(stateDirOption())
    .action(async (ref: string, mac: string, options: { stateDir: string }) => {
      const { service } = await macService(options.stateDir);
      await report(() => service.setMac(ref, mac));
    });

  adapter
    .command('random-mac')
    .description('give ADAPTER a random MAC with a vendor\'s OUI (any vendor of the list unless --vendor)')
    .argument('<adapter>', 'adapter name or interface index')
    .option('--vendor <name>', `one of: ${OUI_VENDORS.map((v) => v.name).join(', ')}; or "${LOCAL_VENDOR}" for a random locally administered address`)
    .addOption(stateDirOption())
    .action(async (ref: string, options: { vendor?: string; stateDir: string }) => {
      const { service } = await macService(options.stateDir);
      await report(() => service.randomMac(ref, options.vendor ?? ''));
    });

  adapter
    .command('restore-mac')
    .description('give ADAPTER back the MAC it had before the first change by this agent')
    .argument('<adapter>', 'adapter name or interface index')
    .addOption(stateDirOption())
    .action(async (ref: string, options: { stateDir: string }) => {
      const { service } = await macService(options.stateDir);
      await report(() => service.restoreMac(ref));
    });
}
