import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderUnit } from './systemd-unit';

// systemd's own parser checks the unit (Debian package `systemd`; it works without systemd as PID 1).
function verify(unit: string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pf-unit-'));
  try {
    const file = path.join(dir, 'portfleet-agent.service');
    writeFileSync(file, unit);
    const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    if (result.error) throw new Error(`systemd-analyze is needed for this test (apt-get install systemd): ${result.error.message}`);
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('systemd unit', () => {
  it('is accepted by systemd without a single warning, quoting paths with spaces and quotes', () => {
    const unit = renderUnit({
      node: process.execPath,
      cli: path.resolve(__dirname, '../../../bin/portfleet-agent.js'),
      stateDir: '/var/lib/port fleet "agent"',
      runArgs: ['--dataplane', 'memory', '--tap', '/run/pf tap/tap.sock'],
      writablePaths: ['/run/pf tap'],
    });
    expect(unit).toContain('ExecStart=' + process.execPath);
    expect(unit).toContain('--state-dir "/var/lib/port fleet \\"agent\\""');
    expect(unit).toContain('ReadWritePaths="/var/lib/port fleet \\"agent\\"" "/run/pf tap"');
    expect(verify(unit)).toEqual({ status: 0, stderr: '' });
  });

  it('would be reported by the verifier if it were broken (the check can fail)', () => {
    const unit = renderUnit({ node: process.execPath, cli: '/nonexistent/cli.js', stateDir: '/var/lib/pf', runArgs: [] }).replace('Restart=always', 'Restart=sometimes');
    expect(verify(unit).stderr).toMatch(/restart specifier.*sometimes/);
  });
});
