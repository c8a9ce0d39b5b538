/**
 * Standalone editions (SPEC §3, issue 5): the real agent process with no controller takes its
 * edition from a serial key activated on the host (verified offline with the vendor key, here a
 * test pair given through PORTFLEET_LICENSE_PUBLIC_KEY), else a 30-day trial from its first
 * standalone start.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SETTINGS, exportRules, generateLicenseKeyPair, issueLicenseKey, type License } from '@portfleet/proto';
import { Service } from '../../test/support/service';
import { TapClient } from '../src/divert/tap-client';
import { ipv4Packet, parseIpv4 } from './support/packets';
import { forward80to8080 } from './support/rule-sets';
import { buildAgentCli, CLI, REPO, runCli } from './support/agent-cli';

const DAY = 86_400_000;
const vendor = generateLicenseKeyPair();
const ENV = { PORTFLEET_LICENSE_PUBLIC_KEY: vendor.publicKeyPem };
const key = (over: Partial<License> = {}) =>
  issueLicenseKey({ serial: 'PF-TEST', edition: 'basic', seats: 1, issuedTo: 'ACME', issuedAtMs: Date.now() - 1000, expiresAtMs: null, ...over }, vendor.privateKeyPem);

const cli = (args: string[]) => runCli(args, { env: ENV });

describe('standalone license', () => {
  let work: string;
  let stateDir: string;
  let tap: string;
  const services: Service[] = [];
  const run = (...extra: string[]) => {
    const service = new Service('agent', process.execPath, [CLI, 'run', '--standalone', '--state-dir', stateDir, '--tap', tap, ...extra], { cwd: REPO, env: ENV });
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
    work = mkdtempSync(path.join(tmpdir(), 'pf-license-'));
    stateDir = path.join(work, 'state');
    tap = path.join(work, 'tap.sock');
  });
  afterEach(async () => {
    for (const service of services.splice(0)) await service.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs a trial from the first standalone start and refuses to run once it is over', async () => {
    const before = await cli(['license', 'show', '--json', '--state-dir', stateDir]);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ valid: true, edition: 'trial', source: 'trial', trialStartedAt: null, watermark: true });

    const agent = run();
    await agent.waitFor(/^PORTFLEET_AGENT_EDITION edition=trial source=trial$/, 15_000);
    await agent.waitFor(/^PORTFLEET_AGENT_TAP /, 15_000);
    expect(await agent.stop()).toBe(0);
    const shown = JSON.parse((await cli(['license', 'show', '--json', '--state-dir', stateDir])).stdout);
    expect(Date.parse(shown.trialEndsAt) - Date.parse(shown.trialStartedAt)).toBe(30 * DAY);

    writeFileSync(path.join(stateDir, 'trial.json'), JSON.stringify({ startedAtMs: Date.now() - 31 * DAY }));
    const over = run();
    expect(await over.exit(15_000)).toBe(3);
    expect(over.tail()).toMatch(/no usable edition:\nlicense: the 30-day trial ended at .*license activate KEY.*\[TRIAL_EXPIRED\]/);
    expect((await cli(['license', 'show', '--state-dir', stateDir])).code).toBe(3);
  }, 60_000);

  it('activates only a genuine key (0600) and then enforces its edition: Basic has no import/export and no descriptions', async () => {
    const forged = issueLicenseKey({ serial: 'X', edition: 'ultimate', seats: 1, issuedTo: 'M', issuedAtMs: Date.now(), expiresAtMs: null }, generateLicenseKeyPair().privateKeyPem);
    const refused = await cli(['license', 'activate', forged, '--state-dir', stateDir]);
    expect(refused).toMatchObject({ code: 3, stderr: expect.stringMatching(/not activated:\n.*\[INVALID_SIGNATURE\]/) });
    const expired = await cli(['license', 'activate', key({ issuedAtMs: Date.now() - 2 * DAY, expiresAtMs: Date.now() - DAY }), '--state-dir', stateDir]);
    expect(expired).toMatchObject({ code: 3, stderr: expect.stringMatching(/LICENSE_EXPIRED/) });
    expect(existsSync(path.join(stateDir, 'license.json'))).toBe(false);

    const activated = await cli(['license', 'activate', key(), '--state-dir', stateDir]);
    expect(activated).toMatchObject({ code: 0, stderr: expect.stringMatching(/activated serial PF-TEST: Basic edition for "ACME"/) });
    expect(statSync(path.join(stateDir, 'license.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await cli(['license', 'show', '--json', '--state-dir', stateDir])).stdout)).toMatchObject({ edition: 'basic', source: 'license', serial: 'PF-TEST', maxRules: 3 });

    // The host's own rule list: allowed in Basic, held to Basic.
    const described = file('described.json', exportRules([{ ...forward80to8080(), description: 'web' }], DEFAULT_SETTINGS));
    const tooMuch = run('--rules', described);
    expect(await tooMuch.exit(15_000)).toBe(1);
    expect(tooMuch.tail()).toMatch(/exceeds the basic edition.*\n.*description.*\[FEATURE_NOT_IN_EDITION\]/);

    const agent = run('--rules', file('plain.json', exportRules([forward80to8080()], DEFAULT_SETTINGS)));
    await agent.waitFor(/^PORTFLEET_AGENT_EDITION edition=basic source=license$/, 15_000);
    await agent.waitFor(/^PORTFLEET_AGENT_APPLIED version=1 source=import$/, 15_000);
    await agent.waitFor(/^PORTFLEET_AGENT_TAP /, 15_000);
    const client = await TapClient.connect(tap);
    try {
      const result = await client.send(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport: 1234, dport: 80, protocol: 'tcp' }), 0, 1);
      expect(parseIpv4(result.bytes).dport).toBe(8080);
    } finally {
      client.close();
    }

    const exported = await cli(['rules', 'export', path.join(work, 'out.json'), '--state-dir', stateDir]);
    expect(exported).toMatchObject({ code: 1, stderr: expect.stringMatching(/export is not allowed:\n.*import\/export of rules: not included in the Basic edition/) });
    const imported = await cli(['rules', 'import', file('next.json', exportRules([forward80to8080('other')], DEFAULT_SETTINGS)), '--state-dir', stateDir]);
    expect(imported).toMatchObject({ code: 1, stderr: expect.stringMatching(/FEATURE_NOT_IN_EDITION/) });

    // A Pro key (activated while running) takes effect at the next start: export is allowed then.
    expect((await cli(['license', 'activate', key({ edition: 'pro' }), '--state-dir', stateDir])).code).toBe(0);
    expect(await agent.stop()).toBe(0);
    const pro = run();
    await pro.waitFor(/^PORTFLEET_AGENT_EDITION edition=pro source=license$/, 15_000);
    expect((await cli(['rules', 'export', '-', '--state-dir', stateDir])).code).toBe(0);
  }, 90_000);
});
