/**
 * The adapter inventory on Windows, from PowerShell's NetTCPIP/NetAdapter cmdlets as JSON: names,
 * interface indexes (the IfIdx WinDivert reports and injects with), MACs and addresses.
 */
import { execFile } from 'node:child_process';
import { isIPv4, isIPv6 } from 'node:net';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { AdapterInfo } from '../dataplane';

/**
 * One PowerShell run, one JSON object. `@(...)` keeps one-element lists as lists (Windows
 * PowerShell 5.1's ConvertTo-Json has no -AsArray).
 */
export const INVENTORY_SCRIPT =
  '@{ adapters = @(Get-NetAdapter | Select-Object Name, ifIndex, MacAddress); ' +
  'addresses = @(Get-NetIPAddress | Select-Object InterfaceIndex, InterfaceAlias, IPAddress) } ' +
  '| ConvertTo-Json -Compress -Depth 3';

export const INVENTORY_COMMAND = {
  file: 'powershell.exe',
  args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', INVENTORY_SCRIPT],
} as const;

const Inventory = z.object({
  adapters: z.array(
    z.object({
      Name: z.string(),
      ifIndex: z.number().int().nonnegative(),
      MacAddress: z.string().nullish(),
    }),
  ),
  addresses: z.array(
    z.object({
      InterfaceIndex: z.number().int().nonnegative(),
      InterfaceAlias: z.string().nullish(),
      IPAddress: z.string(),
    }),
  ),
});

/**
 * Parses the inventory JSON. Addresses of interfaces Get-NetAdapter does not list (the loopback
 * pseudo-interface) make an adapter of their own, named by their InterfaceAlias.
 */
export function parseInventory(json: string): AdapterInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`adapter inventory is not JSON: ${(error as Error).message}`);
  }
  const parsed = Inventory.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`adapter inventory field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const byIndex = new Map<number, AdapterInfo>();
  for (const a of parsed.data.adapters) {
    const mac = normalizeWindowsMac(a.MacAddress);
    byIndex.set(a.ifIndex, { name: a.Name, index: a.ifIndex, macs: mac ? [mac] : [], addresses: [] });
  }
  for (const ip of parsed.data.addresses) {
    const address = ip.IPAddress.split('%')[0]!; // link-local addresses carry a %zone
    if (!isIPv4(address) && !isIPv6(address)) continue;
    let adapter = byIndex.get(ip.InterfaceIndex);
    if (!adapter) {
      adapter = { name: ip.InterfaceAlias ?? `if${ip.InterfaceIndex}`, index: ip.InterfaceIndex, macs: [], addresses: [] };
      byIndex.set(ip.InterfaceIndex, adapter);
    }
    if (!adapter.addresses.includes(address)) adapter.addresses.push(address);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** `00-15-5D-01-02-03` → `00:15:5d:01:02:03`; empty or all-zero → null. */
function normalizeWindowsMac(text: string | null | undefined): string | null {
  if (!text) return null;
  const mac = text.trim().toLowerCase().replaceAll('-', ':');
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || mac === '00:00:00:00:00:00') return null;
  return mac;
}

/** Runs the inventory (Windows only). */
export async function listWindowsAdapters(): Promise<AdapterInfo[]> {
  const { stdout } = await promisify(execFile)(INVENTORY_COMMAND.file, [...INVENTORY_COMMAND.args], { windowsHide: true, timeout: 30_000 });
  return parseInventory(stdout);
}
