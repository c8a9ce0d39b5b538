import type { MacChanger } from './mac-changer';
import { LinuxMacChanger } from './linux-mac';
import { WindowsMacChanger } from './windows-mac';

/** The MAC changer of the OS the agent runs on; undefined where it has none. */
export function platformMacChanger(platform: NodeJS.Platform = process.platform): MacChanger | undefined {
  if (platform === 'linux') return new LinuxMacChanger();
  if (platform === 'win32') return new WindowsMacChanger();
  return undefined;
}
