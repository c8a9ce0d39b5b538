/**
 * The activity ingest queue on a real PostgreSQL: batched writes count every report exactly once,
 * a PostgreSQL stopped and started again under the writer loses nothing (reports wait, their
 * promises resolve only after the commit), a full queue refuses instead of growing; the rollup
 * turns raw reports of finished minutes into one bucket row per (agent, rule, minute) without
 * changing what the `activity_buckets` view shows, one replica at a time; and retention rolls
 * minutes up into hours and deletes what is too old without changing what is kept.
 */
import path from 'node:path';
import { Pool } from 'pg';
import { HOUR_MS, MINUTE_MS } from '../src/activity/activity-buckets';
import { ActivityRetention } from '../src/activity/activity-retention';
import { ActivityRollup } from '../src/activity/activity-rollup';
import type { ActivitySettings } from '../src/activity/activity-settings';
import { ActivityWriter } from '../src/activity/activity-writer';
import { ActivityError } from '../src/activity/activity.errors';
import type { ActivityReportInput } from '../src/activity/activity.service';
import { EmbeddedPostgres } from '../src/db/embedded-postgres';
import { applyMigrations } from '../src/db/migrate';
import { PrismaService } from '../src/db/prisma.service';
import { quietLogger, reachableTempDir } from './support/test-postgres';

jest.setTimeout(120_000);

const SETTINGS: ActivitySettings = { minuteRetentionMs: 48 * HOUR_MS, retentionMs: 30 * 24 * HOUR_MS, retentionIntervalMs: 600_000, queueReports: 100, queueSamples: 1_000_000, queueWaitMs: 60_000, writers: 2, rollupIntervalMs: 5_000 };

let tmp: ReturnType<typeof reachableTempDir>;
let pg: EmbeddedPostgres;
let port: number;
let db: Pool;
let agents: string[];

const pgDir = () => path.join(tmp.dir, 'postgres');

beforeAll(async () => {
  tmp = reachableTempDir('pf-activity-');
  pg = await EmbeddedPostgres.start({ dir: pgDir(), logger: quietLogger() });
  port = Number(new URL(pg.url).port);
  await applyMigrations(pg.url);
  db = new Pool({ connectionString: pg.url, max: 2 });
  db.on('error', () => undefined); // idle connections die when the outage test stops PostgreSQL
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO agents (id, name, hostname, platform, version, credential_hash)
     SELECT gen_random_uuid(), 'h' || i, 'h' || i, 'linux', '1', 'x' FROM generate_series(1, 6) AS i RETURNING id::text AS id`,
  );
  agents = rows.map((r) => r.id);
});

afterAll(async () => {
  await db?.end();
  await pg?.stop();
  tmp?.remove();
});

const T = Date.now();
function report(seq: number, packetsIn: number, periodEndMs = T, ruleId = 'r1'): ActivityReportInput {
  return { seq, periodEndMs, rules: [{ ruleId, packetsIn, bytesIn: packetsIn * 100, packetsOut: 0, bytesOut: 0, conversationsNew: 1, lastHitMs: periodEndMs }] };
}

/** What the view shows of an agent (raw reports and buckets alike). */
async function visible(agentId: string): Promise<number> {
  const { rows } = await db.query<{ p: string | null }>('SELECT sum(packets_in)::text AS p FROM activity_buckets WHERE agent_id = $1', [agentId]);
  return Number(rows[0]!.p ?? 0);
}

/** Rolls up every raw report whose minute is over (and its 10-s grace) at `nowMs` (by default, every report of the tests' time T). */
async function rollUp(nowMs = T + 2 * MINUTE_MS): Promise<number> {
  const rollup = new ActivityRollup({ databaseUrl: pg.url } as PrismaService, SETTINGS, quietLogger());
  try {
    return await rollup.run(nowMs);
  } finally {
    await rollup.onModuleDestroy();
  }
}

/** An agent's sums and bucket rows after a rollup, and its stored seq. */
async function stored(agentId: string): Promise<{ packetsIn: number; rows: number; seq: number }> {
  await rollUp();
  const sums = await db.query<{ p: string | null; n: string }>('SELECT sum(packets_in)::text AS p, count(*)::text AS n FROM activity_buckets WHERE agent_id = $1', [agentId]);
  const seq = await db.query<{ s: string }>('SELECT COALESCE((SELECT seq FROM activity_watermarks WHERE agent_id = $1), 0)::text AS s', [agentId]);
  return { packetsIn: Number(sums.rows[0]!.p ?? 0), rows: Number(sums.rows[0]!.n), seq: Number(seq.rows[0]!.s) };
}

async function newAgent(name: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(`INSERT INTO agents (id, name, hostname, platform, version, credential_hash) VALUES (gen_random_uuid(), $1, $1, 'linux', '1', 'x') RETURNING id::text AS id`, [name]);
  return rows[0]!.id;
}

function newWriter(settings = SETTINGS): ActivityWriter {
  return new ActivityWriter({ databaseUrl: pg.url } as PrismaService, settings, quietLogger());
}

/** Queues a report and waits until it is durable. */
async function submit(writer: ActivityWriter, agentId: string, r: ActivityReportInput): Promise<string> {
  return (await writer.enqueue(agentId, r)).durable;
}

describe('ActivityWriter', () => {
  it('stores reports from many agents in batches, each seq once, and tells resends and unknown agents apart', async () => {
    const writer = newWriter({ ...SETTINGS, queueReports: 10_000 });
    try {
      const [a, b] = agents as [string, string];
      const outcomes = await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => submit(writer, a, report(i + 1, i + 1))),
        ...Array.from({ length: 40 }, (_, i) => submit(writer, b, report(i + 1, 2))),
        submit(writer, a, report(7, 1_000_000)), // a resend: same seq, counted once
        submit(writer, '00000000-0000-4000-8000-000000000000', report(1, 5)),
      ]);
      expect(outcomes.filter((o) => o === 'stored')).toHaveLength(80);
      expect(outcomes.slice(80)).toEqual(['duplicate', 'unknown_agent']);
      // Readable at once, through the view, before any rollup: one raw row per report.
      expect(await visible(a)).toBe((40 * 41) / 2);
      expect(Number((await db.query('SELECT count(*) FROM activity_raw_reports WHERE agent_id = $1', [a])).rows[0].count)).toBe(40);
      expect(await stored(a)).toEqual({ packetsIn: (40 * 41) / 2, rows: 1, seq: 40 });
      expect(await stored(b)).toEqual({ packetsIn: 80, rows: 1, seq: 40 });
      // Later, after a reconnect: below the watermark is a resend, above it new.
      expect(await Promise.all([submit(writer, a, report(40, 9)), submit(writer, a, report(41, 9))])).toEqual(['duplicate', 'stored']);
      expect((await stored(a)).packetsIn).toBe((40 * 41) / 2 + 9);
    } finally {
      await writer.onModuleDestroy();
    }
  });

  it('lets reports wait for room in a full queue, in order', async () => {
    const writer = newWriter();
    const agent = agents[5]!;
    try {
      // 300 at once into a queue of 100: 200 wait for batches to commit, then go in, in order.
      const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => submit(writer, agent, report(i + 1, 1))));
      expect(outcomes).toEqual(Array(300).fill('stored'));
      expect(await stored(agent)).toEqual({ packetsIn: 300, rows: 1, seq: 300 });
    } finally {
      await writer.onModuleDestroy();
    }
  });

  it('bounds the queue by samples too: reports of many rules wait for room sooner', async () => {
    const writer = newWriter({ ...SETTINGS, queueReports: 10_000, queueSamples: 100 });
    const agent = await newAgent('wide');
    const wide = (seq: number): ActivityReportInput => ({ ...report(seq, 1), rules: Array.from({ length: 50 }, (_, k) => ({ ...report(seq, 1).rules[0]!, ruleId: `r${k}` })) });
    try {
      const pending = Array.from({ length: 6 }, (_, i) => writer.enqueue(agent, wide(i + 1)));
      expect(writer.depth).toBe(2); // 100 samples queued: the other four wait for room
      const outcomes = await Promise.all(pending.map(async (p) => (await p).durable));
      expect(outcomes).toEqual(Array(6).fill('stored'));
      expect(await stored(agent)).toEqual({ packetsIn: 300, rows: 50, seq: 6 });
    } finally {
      await writer.onModuleDestroy();
    }
  });

  it('keeps reports queued while PostgreSQL is down, refuses beyond the bound, and stores them all once it is back', async () => {
    const writer = newWriter({ ...SETTINGS, queueWaitMs: 1_000 });
    const agent = agents[2]!;
    try {
      expect(await submit(writer, agent, report(1, 10))).toBe('stored');
      await pg.stop();
      const settled: string[] = [];
      const pending = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.enqueue(agent, report(i + 2, 1))));
      const durable = pending.map(({ durable }) => durable.then((o) => (settled.push(o), o)));
      // The queue holds 100: one more waits for room, then is refused naming the reason (its agent retries later).
      await expect(writer.enqueue(agent, report(102, 1))).rejects.toMatchObject({ constructor: ActivityError, kind: 'rate_limited', code: 'ACTIVITY_QUEUE_FULL' });
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toEqual([]); // nothing is acknowledged while nothing can be durable
      expect(writer.depth).toBe(100);

      pg = await EmbeddedPostgres.start({ dir: pgDir(), port, logger: quietLogger() });
      expect(await Promise.all(durable)).toEqual(Array(100).fill('stored'));
      expect(writer.depth).toBe(0);
      expect(await stored(agent)).toEqual({ packetsIn: 110, rows: 1, seq: 101 });
    } finally {
      await writer.onModuleDestroy();
    }
  });

  it('stores rule ids with quotes, backslashes, commas and braces, and every counter and time exactly', async () => {
    const writer = newWriter();
    const agent = await newAgent('quotes');
    const ruleIds = ['say "hi"', 'back\\slash', 'a,b', '{braces}', 'NULL', ' spaced '];
    const lastHit = T - 1; // not a whole second: ms must survive the trip
    try {
      const r: ActivityReportInput = {
        seq: 1,
        periodEndMs: T,
        rules: ruleIds.map((ruleId, k) => ({ ruleId, packetsIn: 2 ** 40 - k, bytesIn: 2 ** 40, packetsOut: k, bytesOut: 3, conversationsNew: 4, lastHitMs: k === 0 ? 0 : lastHit })),
      };
      expect(await submit(writer, agent, r)).toBe('stored');
      const { rows } = await db.query<{ rule_id: string; p: string; bi: string; po: string; bo: string; c: string; b: Date; h: Date | null }>(
        `SELECT rule_id, packets_in::text AS p, bytes_in::text AS bi, packets_out::text AS po, bytes_out::text AS bo, conversations::text AS c, bucket_start AS b, last_hit_at AS h
           FROM activity_buckets WHERE agent_id = $1 ORDER BY rule_id`,
        [agent],
      );
      const expected = ruleIds.map((ruleId, k) => [ruleId, 2 ** 40 - k, 2 ** 40, k, 3, 4, Math.floor(T / MINUTE_MS) * MINUTE_MS, k === 0 ? null : lastHit]);
      expect(rows.map((x) => [x.rule_id, Number(x.p), Number(x.bi), Number(x.po), Number(x.bo), Number(x.c), x.b.getTime(), x.h?.getTime() ?? null])).toEqual(
        expected.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
      );
    } finally {
      await writer.onModuleDestroy();
    }
  });

  it('rolls a report older than the minute retention straight into its hour', async () => {
    const writer = newWriter();
    try {
      // Its period ends 3 days ago: the hour bucket is the period end's (which minute of the hour
      // the test runs at must not matter).
      const periodEndMs = T - 3 * 24 * HOUR_MS;
      expect(await submit(writer, agents[3]!, report(1, 4, periodEndMs))).toBe('stored');
      await rollUp();
      const { rows } = await db.query<{ b: Date }>('SELECT bucket_start AS b FROM activity_buckets WHERE agent_id = $1', [agents[3]]);
      expect(rows.map((r) => r.b.getTime())).toEqual([Math.floor(periodEndMs / HOUR_MS) * HOUR_MS]);
    } finally {
      await writer.onModuleDestroy();
    }
  });
});

describe('ActivityRollup', () => {
  it('sums the raw reports of finished minutes into one bucket row per (agent, rule, minute), leaves the current minute raw, and the view shows the same throughout', async () => {
    const writer = newWriter();
    const agent = await newAgent('rollup');
    const minute = Math.floor(T / MINUTE_MS) * MINUTE_MS;
    const perMinute = async () =>
      (await db.query<{ b: Date; rule_id: string; p: string; h: Date }>(
        'SELECT bucket_start AS b, rule_id, sum(packets_in)::text AS p, max(last_hit_at) AS h FROM activity_buckets WHERE agent_id = $1 GROUP BY 1, 2 ORDER BY 1, 2',
        [agent],
      )).rows.map((r) => [r.b.getTime(), r.rule_id, Number(r.p), r.h.getTime()]);
    try {
      // Two reports in each of two minutes, two rules each.
      const ends = [minute + 1_000, minute + 30_000, minute + MINUTE_MS + 1_000, minute + MINUTE_MS + 2_000];
      for (const [i, end] of ends.entries()) {
        const r = report(i + 1, i + 1, end);
        expect(await submit(writer, agent, { ...r, rules: [...r.rules, { ...r.rules[0]!, ruleId: 'r2', packetsIn: 100 }] })).toBe('stored');
      }
      const before = await perMinute();
      expect(before).toEqual([
        [minute, 'r1', 3, minute + 30_000],
        [minute, 'r2', 200, minute + 30_000],
        [minute + MINUTE_MS, 'r1', 7, minute + MINUTE_MS + 2_000],
        [minute + MINUTE_MS, 'r2', 200, minute + MINUTE_MS + 2_000],
      ]);
      // During the second minute: only the first is over.
      expect(await rollUp(minute + MINUTE_MS + 15_000)).toBeGreaterThanOrEqual(2);
      expect(await perMinute()).toEqual(before);
      const raw = await db.query<{ seq: string }>('SELECT seq::text AS seq FROM activity_raw_reports WHERE agent_id = $1 ORDER BY seq', [agent]);
      expect(raw.rows.map((r) => Number(r.seq))).toEqual([3, 4]);
      const buckets = await db.query('SELECT count(*)::int AS n FROM activity_stored_buckets WHERE agent_id = $1', [agent]);
      expect(buckets.rows[0].n).toBe(2);
      // Once that minute is over too; then deleting the agent deletes its activity.
      await rollUp(minute + 2 * MINUTE_MS + 15_000);
      expect(await perMinute()).toEqual(before);
      expect((await db.query('SELECT count(*)::int AS n FROM activity_stored_buckets WHERE agent_id = $1', [agent])).rows[0].n).toBe(4);
      expect(await submit(writer, agent, report(5, 1, minute + 2 * MINUTE_MS))).toBe('stored');
      await db.query('DELETE FROM agents WHERE id = $1', [agent]);
      expect(await visible(agent)).toBe(0);
    } finally {
      await writer.onModuleDestroy();
    }
  });
});

describe('ActivityRollup over many chunks', () => {
  it('rolls up more reports than one transaction takes, each once, chunk after chunk', async () => {
    const ids = [await newAgent('chunks-1'), await newAgent('chunks-2'), await newAgent('chunks-3')];
    // 3 × 1,700 raw reports (over two chunks of 2,000), two rules each, all in one finished minute.
    await db.query(
      `INSERT INTO activity_raw_reports (agent_id, seq, period_end, rule_ids, counters)
       SELECT a, s, to_timestamp($2::float8 / 1000), ARRAY['r1', 'r2'], ARRAY[[s, 1], [1, 1], [0, 0], [0, 0], [1, 1], [$2::bigint, 0]]
         FROM unnest($1::uuid[]) AS a, generate_series(1, 1700) AS s`,
      [ids, Math.floor(T / MINUTE_MS) * MINUTE_MS + 5_000],
    );
    const sum = async (table: string) => Number((await db.query(`SELECT sum(packets_in)::text AS p FROM ${table} WHERE agent_id = ANY($1::uuid[])`, [ids])).rows[0].p);
    const expected = 3 * ((1700 * 1701) / 2 + 1700);
    expect(await sum('activity_buckets')).toBe(expected);
    expect(await rollUp()).toBe(3 * 1700);
    expect(await sum('activity_stored_buckets')).toBe(expected);
    expect((await db.query('SELECT count(*)::int AS n FROM activity_stored_buckets WHERE agent_id = ANY($1::uuid[])', [ids])).rows[0].n).toBe(6);
    expect((await db.query('SELECT count(*)::int AS n FROM activity_raw_reports WHERE agent_id = ANY($1::uuid[])', [ids])).rows[0].n).toBe(0);
  });
});

describe('two replicas writing for the same agents', () => {
  it('never deadlock: rows are locked and written in one order, every report counts once', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash)
       SELECT gen_random_uuid(), 'o' || i, 'o' || i, 'linux', '1', 'x' FROM generate_series(1, 40) AS i RETURNING id::text AS id`,
    );
    const overlap = rows.map((r) => r.id);
    const deadlocksBefore = await deadlocks();
    const writers = [newWriter({ ...SETTINGS, queueReports: 10_000 }), newWriter({ ...SETTINGS, queueReports: 10_000 })];
    try {
      const rules = ['r4', 'r2', 'r3', 'r1'];
      const sent: { agentId: string; packets: number; durable: Promise<string> }[] = [];
      for (let round = 0; round < 10; round++) {
        // Each replica meets the agents in its own order (and the rules in a shuffled one).
        writers.forEach((writer, w) => {
          const order = w === 0 ? overlap : [...overlap].reverse();
          for (const agentId of order) {
            const seq = round * 2 + w + 1;
            const r: ActivityReportInput = { seq, periodEndMs: T, rules: rules.map((ruleId, k) => ({ ruleId, packetsIn: seq + k, bytesIn: 1, packetsOut: 0, bytesOut: 0, conversationsNew: 1, lastHitMs: T })) };
            sent.push({ agentId, packets: rules.reduce((sum, _, k) => sum + seq + k, 0), durable: submit(writer, agentId, r) });
          }
        });
      }
      const outcomes = await Promise.all(sent.map((s) => s.durable));
      expect(outcomes.every((o) => o === 'stored' || o === 'duplicate')).toBe(true);
      const expected = sent.reduce((sum, s, i) => sum + (outcomes[i] === 'stored' ? s.packets : 0), 0);
      const sumOf = async () => Number((await db.query<{ p: string }>('SELECT sum(packets_in)::text AS p FROM activity_buckets WHERE agent_id = ANY($1::uuid[])', [overlap])).rows[0]!.p);
      expect(await sumOf()).toBe(expected);
      // Two replicas' rollups at once: one takes the lock, the other skips; nothing counts twice or goes missing.
      const [first, second] = await Promise.all([rollUp(), rollUp()]);
      expect(first + second).toBeGreaterThan(0);
      expect(Math.min(first, second)).toBe(0);
      await rollUp();
      expect(Number((await db.query('SELECT count(*) FROM activity_raw_reports WHERE agent_id = ANY($1::uuid[])', [overlap])).rows[0].count)).toBe(0);
      const { rows: sums } = await db.query<{ p: string }>('SELECT sum(packets_in)::text AS p FROM activity_stored_buckets WHERE agent_id = ANY($1::uuid[])', [overlap]);
      expect(Number(sums[0]!.p)).toBe(expected);
      expect(writers.map((w) => w.retries)).toEqual([0, 0]);
      expect(await deadlocks()).toBe(deadlocksBefore);
    } finally {
      await Promise.all(writers.map((w) => w.onModuleDestroy()));
    }
  });
});

describe('an agent deleted while its reports are being stored', () => {
  const left = async (agentId: string) => {
    const { rows } = await db.query<{ w: number; r: number }>(
      'SELECT (SELECT count(*)::int FROM activity_watermarks WHERE agent_id = $1) AS w, (SELECT count(*)::int FROM activity_raw_reports WHERE agent_id = $1) AS r',
      [agentId],
    );
    return rows[0];
  };
  /** Until `n` backends wait for a lock (the statements below are then where the test wants them). */
  const lockWaiters = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (rows[0]!.n >= n) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`fewer than ${n} backends ever waited for a lock`);
  };

  it('deleted first: the batch waits for the delete, then stores nothing and creates no watermark', async () => {
    const agent = await newAgent('deleted-first');
    const writer = newWriter();
    const deleter = await db.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM agents WHERE id = $1', [agent]);
      const outcome = submit(writer, agent, report(1, 5));
      await lockWaiters(1);
      await deleter.query('COMMIT');
      expect(await outcome).toBe('unknown_agent');
      expect(await left(agent)).toEqual({ w: 0, r: 0 });
    } finally {
      deleter.release();
      await writer.onModuleDestroy();
    }
  });

  it('deleted mid-batch: the delete waits for the batch (no deadlock with its watermark lock), then takes everything', async () => {
    const agent = await newAgent('deleted-mid-batch');
    const writer = newWriter();
    const deadlocksBefore = await deadlocks();
    const blocker = new Pool({ connectionString: pg.url, max: 2 });
    const [holder, deleter] = [await blocker.connect(), await blocker.connect()];
    try {
      expect(await submit(writer, agent, report(1, 5))).toBe('stored');
      // An uncommitted raw row with the next seq stops the batch at its raw insert, its locks held.
      await holder.query('BEGIN');
      await holder.query("INSERT INTO activity_raw_reports (agent_id, seq, period_end, rule_ids, counters) VALUES ($1, 2, now(), '{}', '{}')", [agent]);
      const outcome = submit(writer, agent, report(2, 7));
      await lockWaiters(1);
      await deleter.query('BEGIN');
      const deleted = deleter.query('DELETE FROM agents WHERE id = $1', [agent]);
      await lockWaiters(2);
      await holder.query('ROLLBACK');
      expect(await outcome).toBe('stored');
      expect((await deleted).rowCount).toBe(1);
      await deleter.query('COMMIT');
      expect(await left(agent)).toEqual({ w: 0, r: 0 });
      expect(writer.retries).toBe(0);
      expect(await deadlocks()).toBe(deadlocksBefore);
    } finally {
      holder.release();
      deleter.release();
      await blocker.end();
      await writer.onModuleDestroy();
    }
  });
});

/** Deadlocks PostgreSQL detected in this database so far (its statistics reach the view within a second). */
async function deadlocks(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1_100));
  const { rows } = await db.query<{ n: string }>('SELECT pg_stat_clear_snapshot(), deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]!.n);
}

describe('ActivityRetention', () => {
  it('rolls minute buckets past the minute retention into their hour, deletes hours past the retention, keeps the rest', async () => {
    const agent = agents[4]!;
    const now = Math.floor(T / HOUR_MS) * HOUR_MS + 30 * MINUTE_MS;
    const hour = (h: number) => Math.floor(now / HOUR_MS) * HOUR_MS - h * HOUR_MS;
    // Minutes of an hour three days ago (some rules), of an hour 40 days ago, and of the last hour.
    const rows: [number, string, number][] = [
      [hour(72) + 0 * MINUTE_MS, 'r1', 1],
      [hour(72) + 5 * MINUTE_MS, 'r1', 2],
      [hour(72) + 59 * MINUTE_MS, 'r1', 4],
      [hour(72) + 30 * MINUTE_MS, 'r2', 8],
      [hour(71) + 1 * MINUTE_MS, 'r1', 16],
      [hour(40 * 24) + 3 * MINUTE_MS, 'r1', 32],
      [hour(1) + 1 * MINUTE_MS, 'r1', 64],
      [hour(1) + 2 * MINUTE_MS, 'r1', 128],
    ];
    for (const [at, rule, packets] of rows) {
      await db.query(
        `INSERT INTO activity_stored_buckets (agent_id, rule_id, bucket_start, packets_in, bytes_in, packets_out, bytes_out, conversations, last_hit_at)
         VALUES ($1, $2, $3, $4::bigint, $4::bigint * 10, 1, 1, 1, $3)`,
        [agent, rule, new Date(at), packets],
      );
    }
    const prisma = new PrismaService(pg.url);
    try {
      const retention = new ActivityRetention(prisma, SETTINGS, quietLogger());
      await retention.run(now);
      const after = await db.query<{ b: Date; rule_id: string; p: string; bi: string; po: string; c: string; h: Date }>(
        `SELECT bucket_start AS b, rule_id, packets_in::text AS p, bytes_in::text AS bi, packets_out::text AS po, conversations::text AS c, last_hit_at AS h
           FROM activity_buckets WHERE agent_id = $1 ORDER BY bucket_start, rule_id`,
        [agent],
      );
      expect(after.rows.map((r) => [r.b.getTime(), r.rule_id, Number(r.p), Number(r.bi), Number(r.po), Number(r.c), r.h.getTime()])).toEqual([
        [hour(72), 'r1', 7, 70, 3, 3, hour(72) + 59 * MINUTE_MS],
        [hour(72), 'r2', 8, 80, 1, 1, hour(72) + 30 * MINUTE_MS],
        [hour(71), 'r1', 16, 160, 1, 1, hour(71) + MINUTE_MS],
        [hour(1) + MINUTE_MS, 'r1', 64, 640, 1, 1, hour(1) + MINUTE_MS],
        [hour(1) + 2 * MINUTE_MS, 'r1', 128, 1280, 1, 1, hour(1) + 2 * MINUTE_MS],
      ]);
      // A second pass finds nothing to do.
      expect(await retention.run(now)).toEqual({ hourRows: 0, deletedRows: 0 });
    } finally {
      await prisma.$disconnect();
    }
  });
});
