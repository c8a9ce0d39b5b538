/**
 * `portfleet-agent run` on the Linux data plane, end to end through the CLI: inside a network
 * namespace this suite creates, a standalone agent chosen by default (root on Linux) forwards a
 * real TCP connection to local port 80 to the server on 8080 (SPEC §2 scenario 1 over loopback),
 * and leaves nothing behind when it stops. Skipped with the reason without root or tools; fails
 * instead under CI=true.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, exportRules } from '@portfleet/proto';
import { Service } from '../../test/support/service';
import { describeDataPlane } from './dataplane/support/netns';
import { forward80to8080 } from './support/rule-sets';
import { buildAgentCli, CLI, REPO } from './support/agent-cli';

const NS = `pfcli-${process.pid}`;

/** Connects to 127.0.0.1:port inside the namespace; resolves with what the server said or the error code. */
function connectInNs(port: number): Promise<string> {
  const script = `const s=require('net').connect(${port},'127.0.0.1');s.on('data',d=>{process.stdout.write(String(d));process.exit(0)});s.on('error',e=>{process.stdout.write(e.code);process.exit(0)});setTimeout(()=>{process.stdout.write('TIMEOUT');process.exit(0)},5000)`;
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('close', () => resolve(out.trim()));
  });
}

describeDataPlane('run with the Linux data plane (CLI, network namespace)', () => {
  let work: string;
  let server: Service;

  beforeAll(() => {
    buildAgentCli();
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    work = mkdtempSync(path.join(tmpdir(), 'pf-linux-cli-'));
    server = new Service('server', 'ip', ['netns', 'exec', NS, process.execPath, '-e', `require('net').createServer(s=>s.end('hello from 8080')).listen(8080,'127.0.0.1',()=>console.log('LISTENING'))`], {});
    return server.waitFor(/LISTENING/, 15_000);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(work, { recursive: true, force: true });
  });

  it('forwards local port 80 to 8080 on the default (linux) plane and cleans up on stop', async () => {
    expect(await connectInNs(80)).toBe('ECONNREFUSED');
    const rules = path.join(work, 'rules.json');
    writeFileSync(rules, exportRules([forward80to8080()], DEFAULT_SETTINGS));
    const agent = new Service('agent', 'ip', ['netns', 'exec', NS, process.execPath, CLI, 'run', '--standalone', '--rules', rules, '--state-dir', path.join(work, 'state')], { cwd: REPO });
    try {
      await agent.waitFor(/^PORTFLEET_AGENT_STARTED dataplane=linux$/, 30_000);
      expect(agent.output.some((line) => line.includes('"event":"dataplane.chosen"') && line.includes('root on Linux'))).toBe(true);
      await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=import$/, 5_000);
      expect(await connectInNs(80)).toBe('hello from 8080');
      expect(await connectInNs(8080)).toBe('hello from 8080');
    } finally {
      expect(await agent.stop()).toBe(0);
    }
    // Steering removed: port 80 is closed again.
    expect(await connectInNs(80)).toBe('ECONNREFUSED');
  }, 90_000);

  it('refuses --tap with a kernel data plane, saying why', async () => {
    const result = spawnSync(process.execPath, [CLI, 'run', '--standalone', '--dataplane', 'linux', '--tap', path.join(work, 't.sock'), '--state-dir', path.join(work, 'state2')], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--tap works only with --dataplane memory, not linux/);
  });
});
