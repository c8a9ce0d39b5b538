import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { INVENTORY_COMMAND, parseInventory } from './adapters';

const fixture = readFileSync(path.join(__dirname, '../../../test/windivert/fixtures/inventory.json'), 'utf8');

describe('parseInventory (PowerShell Get-NetAdapter / Get-NetIPAddress JSON)', () => {
  it('gives name, index, MACs and addresses per adapter, loopback included', () => {
    expect(parseInventory(fixture)).toEqual([
      { name: 'Loopback Pseudo-Interface 1', index: 1, macs: [], addresses: ['::1', '127.0.0.1'] },
      { name: 'Ethernet', index: 7, macs: ['00:15:5d:01:02:03'], addresses: ['fe80::a1b2:c3d4:e5f6:1', '192.168.1.20'] },
      { name: 'Wi-Fi', index: 12, macs: ['3c:a9:f4:11:22:33'], addresses: ['2001:db8::20', '10.0.0.20'] },
      { name: 'vEthernet (WSL)', index: 31, macs: [], addresses: [] },
    ]);
  });

  it('names the field of malformed input', () => {
    expect(() => parseInventory('{"adapters":[{"Name":"x","ifIndex":"7"}],"addresses":[]}')).toThrow(/field adapters\.0\.ifIndex/);
    expect(() => parseInventory('not json')).toThrow(/adapter inventory is not JSON/);
  });

  it('asks PowerShell for one JSON object with lists kept as lists', () => {
    expect(INVENTORY_COMMAND.file).toBe('powershell.exe');
    expect(INVENTORY_COMMAND.args.slice(0, 2)).toEqual(['-NoProfile', '-NonInteractive']);
    expect(INVENTORY_COMMAND.args.at(-1)).toMatch(/^@\{ adapters = @\(Get-NetAdapter .*addresses = @\(Get-NetIPAddress .*ConvertTo-Json -Compress -Depth 3$/);
  });
});
