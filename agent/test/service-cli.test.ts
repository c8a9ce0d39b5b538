/**
 * `portfleet-agent service`: what `install --print` would register, for systemd and for Windows
 * (WinSW config + sc.exe lines, shown on any OS), and a clear refusal to manage the other OS's
 * service manager. Registration itself needs systemd / Windows (see docs/agent.md).
 */
import { spawnSync } from 'node:child_process';
import { buildAgentCli, CLI } from './support/agent-cli';

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('service command', () => {
  beforeAll(() => {
    buildAgentCli();
  }, 180_000);

  it('prints the Windows service plan: WinSW runs node with the run arguments, sc.exe registers it after BFE', () => {
    const result = cli('service', 'install', '--print', '--target', 'windows', '--state-dir', 'C:\\ProgramData\\Portfleet', '--dataplane', 'windivert');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('<id>PortfleetAgent</id>');
    expect(result.stdout).toContain(`<executable>${process.execPath}</executable>`);
    expect(result.stdout).toContain(`<arguments>${CLI} run --state-dir C:\\ProgramData\\Portfleet --dataplane windivert</arguments>`);
    expect(result.stdout).toMatch(/^sc\.exe create PortfleetAgent binPath= .*portfleet-agent-service\.exe.* start= auto DisplayName= "Portfleet agent" depend= BFE$/m);
    expect(result.stdout).toMatch(/^sc\.exe failure PortfleetAgent reset= 86400 actions= restart\/5000\/restart\/5000\/restart\/60000$/m);
  });

  it('prints the systemd unit with the chosen run arguments', () => {
    const result = cli('service', 'install', '--print', '--target', 'systemd', '--state-dir', '/var/lib/pf-test', '--dataplane', 'linux');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ExecStart=.* run --state-dir \/var\/lib\/pf-test --dataplane linux$/m);
  });

  it('refuses to manage a service manager this OS does not have', () => {
    const other = process.platform === 'win32' ? 'systemd' : 'windows';
    for (const verb of ['start', 'stop', 'uninstall']) {
      const result = cli('service', verb, '--target', other);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`${other} services can be managed only on .*use --print`));
    }
  });
});
