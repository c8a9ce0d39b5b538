import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AdapterInfo } from '../divert/dataplane';
import { MacChangeError, type MacChanger } from './mac-changer';

const run = promisify(execFile);

/** The network adapter device class; each adapter's driver settings are a numbered subkey. */
const NET_CLASS_KEY = 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e972-e325-11ce-bfc1-08002be10318}';

/** A PowerShell single-quoted string literal. */
function psQuote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The PowerShell script for a MAC change on Windows, as MAC changers do it: the adapter's driver
 * key (found by NetCfgInstanceId = the adapter's InterfaceGuid) gets the `NetworkAddress` string
 * value (12 hex digits, no separators), or loses it to go back to the burned-in address; then the
 * adapter is restarted so the driver reads it.
 */
export function windowsMacScript(adapterName: string, mac: string | null): string {
  const name = psQuote(adapterName);
  const change =
    mac === null
      ? `Remove-ItemProperty -Path $key.PSPath -Name NetworkAddress -ErrorAction SilentlyContinue`
      : `Set-ItemProperty -Path $key.PSPath -Name NetworkAddress -Value ${psQuote(mac.replace(/:/g, '').toUpperCase())} -Type String`;
  return [
    `$ErrorActionPreference = 'Stop'`,
    `$adapter = Get-NetAdapter -Name ${name}`,
    `$key = Get-ChildItem -Path ${psQuote(NET_CLASS_KEY)} -ErrorAction SilentlyContinue | Where-Object { (Get-ItemProperty -Path $_.PSPath -ErrorAction SilentlyContinue).NetCfgInstanceId -eq $adapter.InterfaceGuid } | Select-Object -First 1`,
    `if (-not $key) { throw ('no driver registry key for adapter ' + ${name}) }`,
    change,
    `Restart-NetAdapter -Name ${name} -Confirm:$false`,
  ].join('\n');
}

/** `powershell.exe` arguments that run `script` (as -EncodedCommand: no quoting through argv). */
export function powershellArgs(script: string): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(script, 'utf16le').toString('base64')];
}

/** Windows: NetworkAddress registry value + adapter restart; needs an elevated agent. */
export class WindowsMacChanger implements MacChanger {
  constructor(private readonly powershell = 'powershell.exe') {}

  setMac(adapter: AdapterInfo, mac: string): Promise<void> {
    return this.runScript(windowsMacScript(adapter.name, mac));
  }

  /** Removing NetworkAddress returns the driver to the hardware address, whatever was recorded. */
  restoreMac(adapter: AdapterInfo): Promise<void> {
    return this.runScript(windowsMacScript(adapter.name, null));
  }

  private async runScript(script: string): Promise<void> {
    try {
      await run(this.powershell, powershellArgs(script), { windowsHide: true });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new MacChangeError(`PowerShell failed: ${(e.stderr || e.message).trim()}`);
    }
  }
}
