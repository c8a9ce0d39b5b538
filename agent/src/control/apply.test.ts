import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { capabilitiesFor, signCapabilities, type Rule } from '@portfleet/proto';
import pino from 'pino';
import { forward80to8080, forward80to9090, pushOf } from '../../test/support/rule-sets';
import { ipv4Packet, parseIpv4 } from '../../test/support/packets';
import type { DataPlane } from '../divert/dataplane';
import { MemoryDataPlane } from '../divert/memory';
import { PacketBatch } from '../engine/batch';
import { Engine } from '../engine/engine';
import { RuleApplier } from './apply';
import { type NameResolver, systemResolver } from './resolve-names';
import { StateStore } from './state-store';

const ADAPTERS = [{ name: 'eth0', index: 2, macs: ['02:00:00:00:00:01'], addresses: ['192.0.2.1'] }];
const log = pino({ level: 'silent' });
const NAMES: Record<string, string[]> = { 'db.example': ['198.51.100.20', '2001:db8::20'] };
const fakeDns: NameResolver = async (name) => {
  const found = NAMES[name];
  if (!found) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return found;
};

/** The destination port the engine gives an inbound SYN to local port 80 (80 = no rule rewrote it). */
function portFor80(engine: Engine, sport: number): number {
  const batch = new PacketBatch(4);
  const emitted = new PacketBatch(4);
  batch.push(ipv4Packet({ src: '198.51.100.7', dst: '192.0.2.1', sport, dport: 80, protocol: 'tcp' }), 0, 2);
  engine.process(batch, emitted, Date.now());
  return parseIpv4(batch.bytes(0)).dport;
}

describe('RuleApplier', () => {
  let work: string;
  let store: StateStore;
  let engine: Engine;
  // A DataPlane, so a test can give it the optional selection step the memory plane lacks.
  let plane: MemoryDataPlane & DataPlane;
  let applied: number[];

  const applierFor = (options: { resolve?: NameResolver; publicKey?: string; planeLayer2?: boolean } = {}) => {
    plane = new MemoryDataPlane({ adapters: async () => ADAPTERS, capabilities: { layer2: options.planeLayer2 ?? true } });
    return new RuleApplier({
      engine,
      store,
      plane,
      log,
      resolve: options.resolve ?? fakeDns,
      identity: { agentId: 'agent-1', controllerPublicKey: options.publicKey },
      onApplied: (ruleSet) => applied.push(ruleSet.version),
    });
  };

  beforeEach(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-apply-'));
    store = new StateStore(path.join(work, 'state'));
    await store.init();
    engine = new Engine();
    applied = [];
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('applies a valid rule set, persists it and acks version and content hash', async () => {
    const applier = applierFor();
    const push = pushOf({ version: 1, rules: [forward80to8080()] });
    const ack = await applier.handle(push);
    expect(ack).toEqual({ pushId: 'push-1', ruleSetId: 'rs-1', version: 1, contentHash: push.ruleSet!.contentHash, applied: true, errors: [] });
    expect(portFor80(engine, 40000)).toBe(8080);
    expect(applied).toEqual([1]);
    const saved = await store.readApplied();
    expect(saved?.ruleSet).toMatchObject({ ruleSetId: 'rs-1', version: 1, contentHash: push.ruleSet!.contentHash });
    expect(applier.applied).toEqual({ ruleSetId: 'rs-1', version: 1, contentHash: push.ruleSet!.contentHash });
  });

  describe('keeps the last good list and says why, per rule and field', () => {
    let applier: RuleApplier;
    beforeEach(async () => {
      applier = applierFor({ planeLayer2: false });
      expect((await applier.handle(pushOf({ version: 1, rules: [forward80to8080()] }))).applied).toBe(true);
    });
    afterEach(async () => {
      expect(portFor80(engine, 41000 + Math.floor(Math.random() * 1000))).toBe(8080);
      expect((await store.readApplied())?.ruleSet.version).toBe(1);
      expect(applier.applied?.version).toBe(1);
      expect(applied).toEqual([1]);
    });

    it('on an invalid field', async () => {
      const bad = { ...forward80to9090(), selector: { ...forward80to9090().selector, localPort: 70000 } } as Rule;
      const ack = await applier.handle(pushOf({ version: 2, rules: [forward80to9090('ok'), bad] }));
      expect(ack.applied).toBe(false);
      expect(ack.version).toBe(2);
      expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: 1, ruleId: 'web', field: 'selector.localPort', code: 'INVALID_PORT' })]);
    });

    it('on a content hash that does not match', async () => {
      const ack = await applier.handle(pushOf({ version: 2, rules: [forward80to9090()], contentHash: '0'.repeat(64) }));
      expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: -1, field: 'contentHash', code: 'HASH_MISMATCH' })]);
    });

    it('on a DNS name that does not resolve', async () => {
      const rule: Rule = { ...forward80to9090(), selector: { ...forward80to9090().selector, remoteAddress: 'nowhere.invalid' } };
      const ack = await applier.handle(pushOf({ version: 2, rules: [rule] }));
      expect(ack.applied).toBe(false);
      expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: 0, ruleId: 'web', field: 'selector.remoteAddress', code: 'DNS_UNRESOLVED' })]);
      expect(ack.errors[0]!.message).toMatch(/nowhere\.invalid does not resolve \(ENOTFOUND\)/);
    });

    it('on a field the data plane cannot do', async () => {
      const rule: Rule = { ...forward80to9090(), forwardAs: { localPort: 9090, remoteMac: '02:00:00:00:00:99' } };
      const ack = await applier.handle(pushOf({ version: 2, rules: [rule] }));
      expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: 0, field: 'forwardAs.remoteMac', code: 'UNSUPPORTED_BY_DATAPLANE' })]);
    });

  });

  it('rolls the engine back when the rule set cannot be saved', async () => {
    const applier = applierFor();
    await applier.handle(pushOf({ version: 1, rules: [forward80to8080()] }));
    await rm(store.dir, { recursive: true });
    const ack = await applier.handle(pushOf({ version: 2, rules: [forward80to9090()] }));
    expect(ack.applied).toBe(false);
    expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: -1, code: 'STATE_WRITE_FAILED' })]);
    expect(portFor80(engine, 44000)).toBe(8080);
    expect(applier.applied?.version).toBe(1);
    expect(applied).toEqual([1]);
  });

  it('puts the engine back when the data plane refuses the selection', async () => {
    const applier = applierFor();
    await applier.handle(pushOf({ version: 1, rules: [forward80to8080()] }));
    const selections: number[] = [];
    plane.select = ({ rules }) => {
      selections.push(rules.length);
      return rules.length > 1 ? [{ ruleIndex: 1, ruleId: rules[1]!.id, field: 'selector', code: 'FILTER_TOO_COMPLEX', message: 'the kernel filter cannot hold this rule' }] : [];
    };
    const ack = await applier.handle(pushOf({ version: 2, rules: [forward80to9090('a'), forward80to9090('b')] }));
    expect(ack.applied).toBe(false);
    expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: 1, ruleId: 'b', code: 'FILTER_TOO_COMPLEX' })]);
    expect(portFor80(engine, 45000)).toBe(8080);
    expect(applier.applied?.version).toBe(1);
    const ok = await applier.handle(pushOf({ version: 3, rules: [forward80to9090()] }));
    expect(ok.applied).toBe(true);
    expect(selections).toEqual([2, 1]);
    expect(portFor80(engine, 45001)).toBe(9090);
  });

  it('resolves DNS names at apply time: all addresses for selectors', async () => {
    const rule: Rule = { ...forward80to8080(), selector: { ...forward80to8080().selector, remoteAddress: 'db.example' } };
    const ack = await applierFor().handle(pushOf({ version: 1, rules: [rule] }));
    expect(ack.applied).toBe(true);
    expect((await store.readApplied())?.resolved).toEqual({ 'db.example': ['198.51.100.20', '2001:db8::20'] });
    const batch = new PacketBatch(4);
    const emitted = new PacketBatch(4);
    batch.push(ipv4Packet({ src: '198.51.100.20', dst: '192.0.2.1', sport: 5000, dport: 80, protocol: 'tcp' }), 0, 2);
    batch.push(ipv4Packet({ src: '198.51.100.21', dst: '192.0.2.1', sport: 5000, dport: 80, protocol: 'tcp' }), 0, 2);
    engine.process(batch, emitted, Date.now());
    expect(parseIpv4(batch.bytes(0)).dport).toBe(8080);
    expect(parseIpv4(batch.bytes(1)).dport).toBe(80);
  });

  it('resolves with the system resolver (hosts file) by default', async () => {
    expect(await systemResolver('localhost')).toEqual(expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]));
  });

  it('waits the apply delay before the new list takes effect', async () => {
    const applier = applierFor();
    await applier.handle(pushOf({ version: 1, rules: [forward80to8080()] }));
    const started = Date.now();
    const pending = applier.handle(pushOf({ version: 2, rules: [forward80to9090()], settings: { applyDelayMs: 400 } }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(portFor80(engine, 42000)).toBe(8080);
    const ack = await pending;
    expect(Date.now() - started).toBeGreaterThanOrEqual(395);
    expect(ack.applied).toBe(true);
    expect(portFor80(engine, 42001)).toBe(9090);
  });

  it('applies the persisted list at boot, with the DNS answers it was applied with', async () => {
    const rule: Rule = { ...forward80to8080(), selector: { ...forward80to8080().selector, remoteAddress: 'db.example' } };
    await applierFor().handle(pushOf({ version: 7, rules: [rule] }));

    engine = new Engine();
    applied = [];
    const offline: NameResolver = async () => {
      throw new Error('no network at boot');
    };
    const rebooted = applierFor({ resolve: offline });
    expect(await rebooted.restore()).toBe(true);
    expect(applied).toEqual([7]);
    expect(rebooted.applied?.version).toBe(7);
    const batch = new PacketBatch(4);
    batch.push(ipv4Packet({ src: '198.51.100.20', dst: '192.0.2.1', sport: 5000, dport: 80, protocol: 'tcp' }), 0, 2);
    engine.process(batch, new PacketBatch(4), Date.now());
    expect(parseIpv4(batch.bytes(0)).dport).toBe(8080);
  });

  it('starts with no rules when the persisted file is corrupt, keeping it aside', async () => {
    writeFileSync(store.path('applied'), '{"pushId":');
    const applier = applierFor();
    expect(await applier.restore()).toBe(false);
    expect(applier.applied).toBeNull();
    expect(portFor80(engine, 43000)).toBe(80);
    expect(await store.readApplied()).toBeNull();
  });

  describe('edition from the signed capability snapshot', () => {
    const keys = generateKeyPairSync('ed25519');
    const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const described: Rule = { ...forward80to8080(), description: 'web to 8080' };

    it('rejects a feature the edition lacks', async () => {
      const snapshot = signCapabilities(capabilitiesFor('agent-1', 'basic', Date.now(), null), keys.privateKey);
      const ack = await applierFor({ publicKey }).handle(pushOf({ version: 1, rules: [described], capabilities: snapshot }));
      expect(ack.applied).toBe(false);
      expect(ack.errors).toEqual([expect.objectContaining({ ruleIndex: 0, code: 'FEATURE_NOT_IN_EDITION' })]);
    });

    it('accepts it in an edition that has it', async () => {
      const snapshot = signCapabilities(capabilitiesFor('agent-1', 'pro', Date.now(), null), keys.privateKey);
      const ack = await applierFor({ publicKey }).handle(pushOf({ version: 1, rules: [described], capabilities: snapshot }));
      expect(ack).toMatchObject({ applied: true, errors: [] });
    });

    it('rejects a snapshot signed by another key', async () => {
      const other = generateKeyPairSync('ed25519');
      const snapshot = signCapabilities(capabilitiesFor('agent-1', 'ultimate', Date.now(), null), other.privateKey);
      const ack = await applierFor({ publicKey }).handle(pushOf({ version: 1, rules: [forward80to8080()], capabilities: snapshot }));
      expect(ack.errors).toEqual([expect.objectContaining({ field: 'capabilities.signature', code: 'INVALID_SIGNATURE' })]);
    });

    it('refuses a tampered snapshot with INVALID_SIGNATURE and keeps the last good list', async () => {
      const applier = applierFor({ publicKey });
      const good = signCapabilities(capabilitiesFor('agent-1', 'basic', Date.now(), null), keys.privateKey);
      expect((await applier.handle(pushOf({ version: 1, rules: [forward80to8080()], capabilities: good }))).applied).toBe(true);
      // Basic → Ultimate in the payload, signature left as it was.
      const payload = JSON.parse(Buffer.from(good.payload).toString('utf8')) as Record<string, unknown>;
      const tampered = { payload: Buffer.from(JSON.stringify({ ...payload, edition: 'ultimate', maxRules: 50 })), signature: good.signature };
      const ack = await applier.handle(pushOf({ version: 2, rules: [forward80to9090()], capabilities: tampered }));
      expect(ack).toMatchObject({ applied: false, version: 2 });
      expect(ack.errors).toEqual([expect.objectContaining({ field: 'capabilities.signature', code: 'INVALID_SIGNATURE' })]);
      expect(portFor80(engine, 41000)).toBe(8080);
      expect(applier.applied?.version).toBe(1);
      expect((await store.readApplied())?.ruleSet.version).toBe(1);
    });

    it('rejects a snapshot issued to another agent', async () => {
      const snapshot = signCapabilities(capabilitiesFor('agent-2', 'ultimate', Date.now(), null), keys.privateKey);
      const ack = await applierFor({ publicKey }).handle(pushOf({ version: 1, rules: [forward80to8080()], capabilities: snapshot }));
      expect(ack.errors).toEqual([expect.objectContaining({ field: 'capabilities.agentId' })]);
    });
  });
});
