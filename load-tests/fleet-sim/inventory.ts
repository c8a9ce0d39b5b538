import type { Hello } from '@portfleet/proto/gen/agent';

export const SIM_PLATFORM = 'linux';
export const SIM_VERSION = 'fleet-sim/0.1.0';

/** What simulated host `index` reports about itself: stable across runs, distinct per host. */
export function simulatedInventory(index: number, hostname: string): Omit<Hello, 'appliedRuleSetId' | 'appliedVersion' | 'appliedContentHash'> {
  const b = (index >>> 8) & 255;
  const c = index & 255;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    hostname,
    platform: SIM_PLATFORM,
    version: SIM_VERSION,
    adapters: [
      { name: 'lo', index: 1, macs: [], addresses: ['127.0.0.1/8', '::1/128'] },
      {
        name: 'eth0',
        index: 2,
        macs: [`02:00:00:${hex((index >>> 16) & 255)}:${hex(b)}:${hex(c)}`],
        addresses: [`10.${(index >>> 16) & 255}.${b}.${c}/8`, `fd00::${index.toString(16)}/64`],
      },
    ],
    dataplane: { kind: 'simulated', layer2: false, reflection: false, adapters: true, clone: false },
  };
}

export function simulatedHostname(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`;
}
