import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ActivityReport } from '@portfleet/proto/gen/agent';
import pino from 'pino';
import { ActivityReporter, type RuleCounters } from './reporter';
import { StateStore } from './state-store';

const log = pino({ level: 'silent' });

function counters(ruleId: string, packetsIn: number, packetsOut = 0, conversationsTotal = 1): RuleCounters {
  return { ruleId, packetsIn, bytesIn: packetsIn * 100, packetsOut, bytesOut: packetsOut * 100, conversationsActive: 1, conversationsTotal, lastHitMs: 1_000 };
}

describe('ActivityReporter', () => {
  let work: string;
  let store: StateStore;
  let now: RuleCounters[];
  let online: boolean;
  let sent: ActivityReport[];

  const reporter = (maxPending?: number) =>
    new ActivityReporter({
      counters: () => now,
      store,
      log,
      intervalMs: 1_000_000,
      maxPending,
      send: (report) => {
        if (online) sent.push(structuredClone(report));
        return online;
      },
    });
  const totalIn = (reports: readonly { rules: { packetsIn: number }[] }[]) => reports.reduce((sum, r) => sum + r.rules.reduce((s, x) => s + x.packetsIn, 0), 0);

  beforeEach(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'pf-report-'));
    store = new StateStore(work);
    await store.init();
    now = [];
    online = true;
    sent = [];
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('reports counter deltas per period with an increasing seq, and nothing for a quiet period', async () => {
    const r = reporter();
    await r.load();
    await r.onConnected(0);
    now = [counters('a', 5, 2)];
    await r.tick(2_000);
    await r.tick(3_000);
    now = [counters('a', 8, 2), counters('b', 1, 0)];
    await r.tick(4_000);
    expect(sent.map((s) => s.seq)).toEqual([1, 2]);
    expect(sent[0]!.rules).toEqual([{ ruleId: 'a', packetsIn: 5, bytesIn: 500, packetsOut: 2, bytesOut: 200, conversationsActive: 1, conversationsNew: 1, lastHitMs: 1_000 }]);
    expect(sent[1]!.rules).toEqual([
      expect.objectContaining({ ruleId: 'a', packetsIn: 3, packetsOut: 0, conversationsNew: 0 }),
      expect.objectContaining({ ruleId: 'b', packetsIn: 1, conversationsNew: 1 }),
    ]);
    expect(sent[1]!.periodStartMs).toBe(3_000);
  });

  it('keeps reports on disk while disconnected and sends them after reconnect until acked', async () => {
    const r = reporter();
    await r.load();
    online = false;
    for (let i = 1; i <= 4; i++) {
      now = [counters('a', i * 10)];
      await r.tick(i * 1_000);
    }
    expect(sent).toEqual([]);
    expect((await store.readActivity())?.pending.map((p) => p.seq)).toEqual([1, 2, 3, 4]);

    // The agent restarts before the controller is back: nothing owed is forgotten.
    const restarted = reporter();
    await restarted.load();
    online = true;
    await restarted.onConnected(0);
    expect(sent.map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    expect(totalIn(sent)).toBe(40);
    await restarted.onAck(3);
    expect((await store.readActivity())?.pending.map((p) => p.seq)).toEqual([4]);
    await restarted.onAck(4);
    expect((await store.readActivity())?.pending).toEqual([]);
  });

  it('drops what the controller already stored and resends the rest once per stream', async () => {
    const r = reporter();
    await r.load();
    await r.onConnected(0);
    for (let i = 1; i <= 3; i++) {
      now = [counters('a', i)];
      await r.tick(i * 1_000);
    }
    // Stream broke before any ack; the controller had stored seq 2.
    sent = [];
    await r.onConnected(2);
    expect(sent.map((s) => s.seq)).toEqual([3]);
    expect(r.owed.map((p) => p.seq)).toEqual([3]);
    now = [counters('a', 10)];
    await r.tick(5_000);
    expect(sent.map((s) => s.seq)).toEqual([3, 4]);
  });

  it('numbers after the controller\'s stored seq when local state was lost', async () => {
    writeFileSync(store.path('activity'), 'not json');
    const r = reporter();
    await r.load();
    online = false;
    now = [counters('a', 7)];
    await r.tick(1_000);
    online = true;
    await r.onConnected(50);
    expect(sent.map((s) => s.seq)).toEqual([51]);
    now = [counters('a', 9)];
    await r.tick(2_000);
    expect(sent.map((s) => s.seq)).toEqual([51, 52]);
  });

  it('merges the oldest unsent reports beyond its bound instead of dropping them', async () => {
    const r = reporter(3);
    await r.load();
    online = false;
    for (let i = 1; i <= 10; i++) {
      now = [counters('a', i * 10, i, i)];
      await r.tick(i * 1_000);
    }
    const owed = (await store.readActivity())!.pending;
    expect(owed).toHaveLength(3);
    expect(owed.map((p) => p.seq)).toEqual([8, 9, 10]);
    expect(totalIn(owed)).toBe(100);
    expect(owed[0]).toMatchObject({ periodStartMs: expect.any(Number), periodEndMs: 8_000 });
    expect(owed[0]!.rules[0]).toMatchObject({ packetsIn: 80, packetsOut: 8, conversationsNew: 8 });
  });

  it('ends the last period on stop so no counted packet is left unreported', async () => {
    const r = reporter();
    await r.load();
    await r.onConnected(0);
    now = [counters('a', 3)];
    await r.stop();
    expect(totalIn(sent)).toBe(3);
    expect((await store.readActivity())?.pending.map((p) => p.seq)).toEqual([1]);
  });
});
