/**
 * What the fault suites share: a simulated fleet seeded straight into the database (enrolling
 * 1,000 hosts one by one would take minutes), a rule set whose rules report activity, and reads
 * of the outcome from PostgreSQL itself (not through the controller under test).
 */
import { Pool } from 'pg';
import { seedAgents } from '../../load-tests/bench/seed-agents';
import { ChannelPool, enrollFleet, Fleet, type CounterTotals } from '../../load-tests/fleet-sim';
import type { ApiSession } from '../support/api';
import { startStack, type Stack } from '../support/stack';

/** What every fault suite starts from: a stack whose PostgreSQL it may stop, an admin session, a reader of the database. */
export interface FaultStack {
  stack: Stack;
  admin: ApiSession;
  db: FleetDatabase;
}

export async function openFaultStack(): Promise<FaultStack> {
  const stack = await startStack({ sharedDatabase: true });
  return { stack, admin: await stack.login(), db: new FleetDatabase(stack.database!.url) };
}

/** The fleet first (its agents would keep reconnecting), then the reader, then the stack. */
export async function closeFaultStack(parts: { fleet?: Fleet; db?: FleetDatabase; stack?: Stack }): Promise<void> {
  await parts.fleet?.stop();
  await parts.db?.close();
  await parts.stack?.stop();
}

export const FAULT_BACKOFF = { initialMs: 200, maxMs: 2_000 };

/**
 * `count` agents: all but one written into `agents` by SQL, the last enrolled for real (so the
 * controller assigns seats as after any enrollment). Not started.
 */
export async function seededFleet(
  stack: Stack,
  admin: ApiSession,
  options: { count: number; hostnamePrefix: string; targets: string[]; agentsPerChannel: number },
): Promise<Fleet> {
  const db = new Pool({ connectionString: stack.database!.url, max: 2 });
  try {
    const seeded = await seedAgents(db, { count: options.count - 1, hostnamePrefix: options.hostnamePrefix });
    const pool = new ChannelPool(stack.grpcAddress, options.agentsPerChannel);
    try {
      const enrolled = await enrollFleet({
        pool,
        count: 1,
        firstIndex: options.count - 1,
        hostnamePrefix: options.hostnamePrefix,
        tokens: async () => (await admin.post('/api/enrollment-tokens', {})).body.token,
      });
      return new Fleet({ target: options.targets, agentsPerChannel: options.agentsPerChannel, backoff: FAULT_BACKOFF }, [...seeded, ...enrolled]);
    } finally {
      pool.close();
    }
  } finally {
    await db.end();
  }
}

export interface PushedVersion {
  ruleSetId: string;
  version: number;
  contentHash: string;
}

/** A new rule set with two rules that report activity; returns its current version. */
export async function monitoredRuleSet(admin: ApiSession, name: string): Promise<PushedVersion> {
  const set = await admin.post('/api/rule-sets', { name });
  if (set.status !== 201) throw new Error(`rule set: ${set.status} ${JSON.stringify(set.body)}`);
  for (const port of [8080, 5353]) await addRule(admin, set.body.id, port);
  return currentVersion(admin, set.body.id);
}

export async function addRule(admin: ApiSession, ruleSetId: string, port: number): Promise<void> {
  const added = await admin.post(`/api/rule-sets/${ruleSetId}/rules`, {
    rule: { enabled: true, activityMonitoring: true, selector: { direction: 'inbound', protocol: port === 5353 ? 'udp' : 'tcp', localPort: port }, forwardAs: { localPort: port + 1 } },
  });
  if (added.status !== 201) throw new Error(`rule: ${added.status} ${JSON.stringify(added.body)}`);
}

export async function currentVersion(admin: ApiSession, ruleSetId: string): Promise<PushedVersion> {
  const v = (await admin.get(`/api/rule-sets/${ruleSetId}`)).body;
  return { ruleSetId: v.id, version: v.version, contentHash: v.contentHash };
}

/**
 * `POST /api/pushes` as an automation client makes it: a 5xx (the controller overloaded: a
 * transaction that could not start in time on a busy machine) is retried, up to 3 attempts.
 * Retrying is safe: a newer push of the same version supersedes an unfinished older one.
 */
export async function createPush(admin: ApiSession, body: { ruleSetId: string; version: number; agentIds: string[] }): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const res = await admin.post('/api/pushes', body);
    if (res.status === 201) return res.body.id as string;
    if (res.status < 500 || attempt === 3) throw new Error(`POST /api/pushes: ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(1_000);
  }
}

/** The outcome as PostgreSQL holds it. */
export class FleetDatabase {
  private readonly db: Pool;

  constructor(url: string) {
    this.db = new Pool({ connectionString: url, max: 2 });
    // Idle connections die when a suite stops PostgreSQL; the pool replaces them on the next query.
    this.db.on('error', () => undefined);
  }

  /** Target count per state of one push. */
  async pushStates(pushId: string): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ state: string; n: number }>('SELECT state::text AS state, count(*)::int AS n FROM push_targets WHERE push_id = $1 GROUP BY state', [pushId]);
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  /** How many of `agentIds` the database records as running exactly `v`. */
  async runningVersion(agentIds: readonly string[], v: PushedVersion): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM agents WHERE id = ANY($1::uuid[]) AND applied_rule_set_id = $2 AND applied_version = $3 AND applied_content_hash = $4',
      [agentIds, v.ruleSetId, v.version, v.contentHash],
    );
    return rows[0]!.n;
  }

  /** Sums of every stored activity bucket of `agentIds`. */
  async activityTotals(agentIds: readonly string[]): Promise<CounterTotals> {
    const { rows } = await this.db.query<Record<keyof CounterTotals, string>>(
      `SELECT coalesce(sum(packets_in), 0)::text AS "packetsIn", coalesce(sum(bytes_in), 0)::text AS "bytesIn",
              coalesce(sum(packets_out), 0)::text AS "packetsOut", coalesce(sum(bytes_out), 0)::text AS "bytesOut",
              coalesce(sum(conversations), 0)::text AS conversations
         FROM activity_buckets WHERE agent_id = ANY($1::uuid[])`,
      [agentIds],
    );
    const r = rows[0]!;
    return { packetsIn: Number(r.packetsIn), bytesIn: Number(r.bytesIn), packetsOut: Number(r.packetsOut), bytesOut: Number(r.bytesOut), conversations: Number(r.conversations) };
  }

  close(): Promise<void> {
    return this.db.end();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}
