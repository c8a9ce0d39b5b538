/**
 * Standalone use (SPEC §1 import/export, issue 5): the real agent process without a controller,
 * rules imported from a file while it runs, exported again, and kept across restarts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { capabilitiesFor, contentHash, DEFAULT_SETTINGS, exportRules, parseRulesFile, signCapabilities } from '@portfleet/proto';
import { Service } from '../../test/support/service';
import { TapClient } from '../src/divert/tap-client';
import { ipv4Packet, parseIpv4 } from './support/packets';
import { forward80to8080, forward80to9090 } from './support/rule-sets';
import { buildAgentCli, CLI, REPO, runCli } from './support/agent-cli';


const cli = (args: string[]) => runCli(args);

async function dport80(tap: string, sport: number): Promise<number> {
  const client = await TapClient.connect(tap);
  try {
    return parseIpv4((await client.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport, dport: 80, protocol: 'tcp' }), 0, 1)).bytes).dport;
  } finally {
    client.close();
  }
}

describe('rules import/export and standalone run', () => {
  let work: string;
  let stateDir: string;
  let tap: string;
  const services: Service[] = [];
  const run = () => {
    const service = new Service('agent', process.execPath, [CLI, 'run', '--standalone', '--state-dir', stateDir, '--tap', tap], { cwd: REPO });
    services.push(service);
    return service;
  };
  const file = (name: string, text: string) => {
    const target = path.join(work, name);
    writeFileSync(target, text);
    return target;
  };

  beforeAll(() => {
    buildAgentCli();
  }, 180_000);
  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-rules-'));
    stateDir = path.join(work, 'state');
    tap = path.join(work, 'tap.sock');
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
    rmSync(work, { recursive: true, force: true });
  });

  it('imports into a running standalone agent, refuses a bad file changing nothing, exports, and keeps the rules across a restart', async () => {
    let agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_TAP /, 15_000);
    expect(await dport80(tap, 1000)).toBe(80);

    const good = file('good.json', exportRules([forward80to8080()], DEFAULT_SETTINGS));
    const imported = await cli(['rules', 'import', good, '--state-dir', stateDir]);
    expect(imported).toMatchObject({ code: 0 });
    expect(imported.stderr).toMatch(/imported 1 rules; the running agent \(pid \d+\) applied them as local version 1/);
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=import$/, 5_000);
    expect(await dport80(tap, 1001)).toBe(8080);

    const bad = JSON.parse(exportRules([forward80to9090('a'), forward80to9090('b')], DEFAULT_SETTINGS));
    bad.rules[0].selector.localPort = 70000;
    bad.rules[1].forwardAs.colour = 'blue';
    const refused = await cli(['rules', 'import', file('bad.json', JSON.stringify(bad)), '--state-dir', stateDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('rule 0: selector.localPort');
    expect(refused.stderr).toContain('rule 1: forwardAs.colour');
    expect(existsSync(path.join(stateDir, 'import.json'))).toBe(false);
    expect(await dport80(tap, 1002)).toBe(8080);

    const notJson = await cli(['rules', 'import', file('broken.json', '{"format": "portfleet-rules",'), '--state-dir', stateDir]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/is not valid JSON at line 1/);

    const exported = await cli(['rules', 'export', '-', '--state-dir', stateDir]);
    expect(exported.code).toBe(0);
    const back = parseRulesFile(exported.stdout);
    const original = parseRulesFile(readFileSync(good, 'utf8'));
    expect(back.ok && original.ok && back.value).toEqual(original.ok && original.value);
    expect(back.ok && back.value.rules.map((r) => r.id)).toEqual(['web']);

    expect(await agent.stop()).toBe(0);
    expect(existsSync(path.join(stateDir, 'agent.pid'))).toBe(false);

    // Imported while stopped: applied at the next start, after the persisted list.
    expect(await cli(['rules', 'import', file('next.json', exportRules([forward80to9090()], DEFAULT_SETTINGS)), '--state-dir', stateDir])).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/the agent applies them when it starts/),
    });
    agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=disk$/, 15_000);
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=2 source=import$/, 15_000);
    await agent.waitFor(/^PORTFLEET_AGENT_TAP /, 15_000);
    expect(await dport80(tap, 1003)).toBe(9090);
    const status = JSON.parse((await cli(['status', '--json', '--state-dir', stateDir])).stdout);
    expect(status).toMatchObject({ enrolled: false, applied: { ruleSetId: 'local', version: 2 }, runningPid: expect.any(Number) });
  }, 90_000);

  it('refuses import and export on a managed agent whose signed edition has no import/export', async () => {
    const rules = [forward80to8080()];
    const keys = generateKeyPairSync('ed25519');
    const snapshot = signCapabilities(capabilitiesFor('agent-1', 'basic', Date.now(), null), keys.privateKey);
    const applied = {
      pushId: 'p1',
      ruleSet: { ruleSetId: 'rs', version: 3, rules, settings: DEFAULT_SETTINGS, contentHash: contentHash(rules, DEFAULT_SETTINGS) },
      resolved: {},
      capabilities: { payload: Buffer.from(snapshot.payload).toString('base64'), signature: Buffer.from(snapshot.signature).toString('base64') },
      appliedAtMs: Date.now(),
    };
    const credential = { controller: '127.0.0.1:1', agentId: 'agent-1', credential: 's', controllerPublicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    spawnSync('mkdir', ['-p', '-m', '700', stateDir]);
    writeFileSync(path.join(stateDir, 'credential.json'), JSON.stringify(credential));
    writeFileSync(path.join(stateDir, 'applied.json'), JSON.stringify(applied));
    const exported = await cli(['rules', 'export', path.join(work, 'out.json'), '--state-dir', stateDir]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/export is not allowed:\n.*\[FEATURE_NOT_IN_EDITION\]/);
    expect(existsSync(path.join(work, 'out.json'))).toBe(false);
    const imported = await cli(['rules', 'import', file('in.json', exportRules(rules, DEFAULT_SETTINGS)), '--state-dir', stateDir]);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/FEATURE_NOT_IN_EDITION/);
    expect(JSON.parse(readFileSync(path.join(stateDir, 'applied.json'), 'utf8')).ruleSet.version).toBe(3);
  }, 60_000);
});
