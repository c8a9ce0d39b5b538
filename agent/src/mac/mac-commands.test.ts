import { linuxSetMacCommands } from './linux-mac';
import { powershellArgs, windowsMacScript } from './windows-mac';

describe('Linux MAC commands', () => {
  it('take an up interface down for the change and up again', () => {
    expect(linuxSetMacCommands('eth1', '00:1b:21:0a:0b:0c', true)).toEqual([
      ['link', 'set', 'dev', 'eth1', 'down'],
      ['link', 'set', 'dev', 'eth1', 'address', '00:1b:21:0a:0b:0c'],
      ['link', 'set', 'dev', 'eth1', 'up'],
    ]);
    expect(linuxSetMacCommands('eth1', '00:1b:21:0a:0b:0c', false)).toEqual([['link', 'set', 'dev', 'eth1', 'address', '00:1b:21:0a:0b:0c']]);
  });
});

describe('Windows MAC script', () => {
  it('sets NetworkAddress (12 hex digits) on the adapter\'s driver key and restarts the adapter', () => {
    const script = windowsMacScript('Ethernet 2', '00:1b:21:0a:0b:0c');
    expect(script).toContain(`$adapter = Get-NetAdapter -Name 'Ethernet 2'`);
    expect(script).toContain(`HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e972-e325-11ce-bfc1-08002be10318}`);
    expect(script).toContain('.NetCfgInstanceId -eq $adapter.InterfaceGuid');
    expect(script).toContain(`Set-ItemProperty -Path $key.PSPath -Name NetworkAddress -Value '001B210A0B0C' -Type String`);
    expect(script.split('\n').at(-1)).toBe(`Restart-NetAdapter -Name 'Ethernet 2' -Confirm:$false`);
    expect(script.split('\n')[0]).toBe(`$ErrorActionPreference = 'Stop'`);
  });

  it('restores by removing NetworkAddress (the driver goes back to the hardware address)', () => {
    const script = windowsMacScript('Wi-Fi', null);
    expect(script).toContain('Remove-ItemProperty -Path $key.PSPath -Name NetworkAddress');
    expect(script).not.toContain('Set-ItemProperty');
  });

  it('quotes adapter names so they cannot end the string', () => {
    const script = windowsMacScript(`O'Brien's NIC'; Remove-Item C:\\ -Recurse; '`, '00:1b:21:0a:0b:0c');
    expect(script).toContain(`-Name 'O''Brien''s NIC''; Remove-Item C:\\ -Recurse; '''`);
  });

  it('passes the script as -EncodedCommand (UTF-16LE base64), never through a shell', () => {
    const args = powershellArgs('Write-Output "é"');
    expect(args.slice(0, 5)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    expect(Buffer.from(args[5]!, 'base64').toString('utf16le')).toBe('Write-Output "é"');
  });
});
