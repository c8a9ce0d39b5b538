import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { transformSync } from '@swc/core';
import { writeFileAtomic } from './atomic-file';
import { StateFileCorruptError, StateStore, defaultStateDir, type AppliedState } from './state-store';

const applied = (version: number): AppliedState => ({
  pushId: `push-${version}`,
  ruleSet: { ruleSetId: 'rs1', version, rules: [], settings: { applyDelayMs: 0, tcpTimeoutS: 300, udpTimeoutS: 60 }, contentHash: 'h'.repeat(64) },
  resolved: { 'db.example': ['192.0.2.7'] },
  capabilities: null,
  appliedAtMs: 1_700_000_000_000,
});

describe('StateStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = path.join(mkdtempSync(path.join(tmpdir(), 'pf-state-')), 'state');
  });
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('creates a 0700 folder and 0600 files, and reads back what it wrote', async () => {
    const store = new StateStore(dir);
    await store.init();
    await store.writeCredential({ controller: '127.0.0.1:50051', agentId: 'a1', credential: 's3cret' });
    await store.writeApplied(applied(3));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path('credential')).mode & 0o777).toBe(0o600);
    expect(statSync(store.path('applied')).mode & 0o777).toBe(0o600);
    expect(await store.readCredential()).toEqual({ controller: '127.0.0.1:50051', agentId: 'a1', credential: 's3cret' });
    expect(await store.readApplied()).toEqual(applied(3));
    expect(await store.readActivity()).toBeNull();
  });

  it('tightens an existing folder that was too open', async () => {
    await fs.mkdir(dir, { mode: 0o755 });
    await new StateStore(dir).init();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('keeps writes to one file in call order', async () => {
    const store = new StateStore(dir);
    await store.init();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.writeApplied(applied(i + 1))));
    expect((await store.readApplied())?.ruleSet.version).toBe(20);
  });

  it('reports a file that is not JSON with the file and the reason', async () => {
    const store = new StateStore(dir);
    await store.init();
    writeFileSync(store.path('applied'), '{"pushId": "p", "ruleSet": {');
    const error = await store.readApplied().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateFileCorruptError);
    expect((error as Error).message).toContain(store.path('applied'));
    expect((error as Error).message).toMatch(/not JSON/);
  });

  it('names the field when a file is JSON of the wrong shape', async () => {
    const store = new StateStore(dir);
    await store.init();
    writeFileSync(store.path('credential'), JSON.stringify({ controller: 'c', agentId: 7, credential: 'x' }));
    await expect(store.readCredential()).rejects.toThrow(/credential\.json is corrupt \(agentId: /);
  });

  it('moves a corrupt file aside and falls back to nothing, keeping the bad bytes for inspection', async () => {
    const store = new StateStore(dir);
    await store.init();
    writeFileSync(store.path('activity'), 'garbage\u0000');
    const { value, quarantined } = await store.readOrQuarantine('activity');
    expect(value).toBeNull();
    expect(quarantined?.error.reason).toMatch(/not JSON/);
    expect(readFileSync(quarantined!.movedTo, 'utf8')).toBe('garbage\u0000');
    await expect(fs.access(store.path('activity'))).rejects.toThrow();
    // The next write starts a fresh, valid file.
    await store.writeActivity({ nextSeq: 1, pending: [] });
    expect(await store.readOrQuarantine('activity')).toEqual({ value: { nextSeq: 1, pending: [] } });
  });

  it('ignores and removes temp files a crashed writer left behind, but not those of a live one', async () => {
    const store = new StateStore(dir);
    await store.init();
    await store.writeApplied(applied(1));
    const deadPid = 2 ** 22 + 12345; // above pid_max's default: no such process
    const stale = path.join(dir, `.applied.json.${deadPid}.1.tmp`);
    const live = path.join(dir, `.applied.json.${process.pid}.999.tmp`);
    writeFileSync(stale, '{"half":');
    writeFileSync(live, '{"half":');
    expect((await store.readApplied())?.ruleSet.version).toBe(1);
    await new StateStore(dir).init();
    await expect(fs.access(stale)).rejects.toThrow();
    await expect(fs.access(live)).resolves.toBeUndefined();
  });

  it('takes its folder from PORTFLEET_AGENT_STATE_DIR, else by user', () => {
    expect(defaultStateDir({ PORTFLEET_AGENT_STATE_DIR: '/srv/pf' })).toBe('/srv/pf');
    const isRoot = process.getuid?.() === 0;
    expect(defaultStateDir({})).toBe(isRoot ? '/var/lib/portfleet-agent' : path.join(require('node:os').homedir(), '.portfleet-agent'));
  });
});

describe('writeFileAtomic under SIGKILL', () => {
  // A writer process replaces a 2 MB file over and over and is killed at random moments; after
  // every kill the file must be one complete version (its embedded digest matches its body).
  it('never leaves a torn file', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'pf-atomic-'));
    try {
      const compiled = transformSync(readFileSync(path.join(__dirname, 'atomic-file.ts'), 'utf8'), {
        filename: 'atomic-file.ts',
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      }).code;
      writeFileSync(path.join(work, 'atomic-file.js'), compiled);
      writeFileSync(
        path.join(work, 'writer.js'),
        `const { writeFileAtomic } = require('./atomic-file.js');
         const { createHash } = require('node:crypto');
         (async () => {
           for (let i = 0; ; i++) {
             const body = String(i % 10).repeat(2 * 1024 * 1024);
             const digest = createHash('sha256').update(body).digest('hex');
             await writeFileAtomic(process.argv[2], digest + '\\n' + body);
             if (i === 0) process.stdout.write('first\\n');
           }
         })();`,
      );
      const target = path.join(work, 'state.json');
      for (let round = 0; round < 12; round++) {
        const child = spawn(process.execPath, [path.join(work, 'writer.js'), target], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise((resolve) => child.stdout.once('data', resolve));
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
        const text = readFileSync(target, 'utf8');
        const newline = text.indexOf('\n');
        const body = text.slice(newline + 1);
        expect(body).toHaveLength(2 * 1024 * 1024);
        expect(createHash('sha256').update(body).digest('hex')).toBe(text.slice(0, newline));
        expect(statSync(target).mode & 0o777).toBe(0o600);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 30_000);

  it('leaves the old file in place when the write fails', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'pf-atomic-'));
    try {
      const target = path.join(work, 'state.json');
      await writeFileAtomic(target, 'old');
      // A directory where the file should be makes the rename fail after the temp file was written.
      const blocked = path.join(work, 'blocked');
      await fs.mkdir(path.join(blocked, 'inner'), { recursive: true });
      await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow();
      expect(readFileSync(target, 'utf8')).toBe('old');
      expect((await fs.readdir(work)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
