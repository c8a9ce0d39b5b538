import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { ApiSession } from '../api';
import { ChannelPool, enrollFleet, Fleet, type AgentIdentity } from '../fleet-sim';
import { freePort } from '../ports';
import { startStack, type Stack } from '../stack';
import { seedAgents } from './seed-agents';

export interface BenchStack {
  stack: Stack;
  admin: ApiSession;
  /** Straight to the controller's PostgreSQL: what is durable, not what the controller says. */
  db: Pool;
  controllerPid: number;
  stop(): Promise<void>;
}

/**
 * The real controller on its own embedded PostgreSQL (the system-test harness), started with the
 * given log level (and NODE_OPTIONS, e.g. a heap cap) and a known database port so the benchmark
 * can read the database itself.
 */
export async function startBenchStack(options: { logLevel: string; nodeOptions?: string }): Promise<BenchStack> {
  const pgPort = await freePort();
  // The harness passes our environment on to the controller.
  process.env.PORTFLEET_PG_PORT = String(pgPort);
  process.env.PORTFLEET_LOG_LEVEL = options.logLevel;
  if (options.nodeOptions) process.env.NODE_OPTIONS = options.nodeOptions;
  const stack = await startStack();
  // Ctrl-C stops the controller and its PostgreSQL too (a signal skips the harness's exit hook).
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the controller\n`);
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const admin = await stack.login();
    const password = readFileSync(join(stack.dataDir, 'controller/postgres/superuser.secret'), 'utf8').trim();
    const db = new Pool({ connectionString: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/portfleet`, max: 2 });
    return {
      stack,
      admin,
      db,
      controllerPid: stack.controller.pid!,
      stop: async () => {
        await db.end();
        await stack.stop();
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** A rule set with `count` monitored rules (distinct local ports); returns its latest version. */
export async function createRuleSet(admin: ApiSession, name: string, count: number): Promise<{ id: string; version: number; contentHash: string }> {
  const set = await admin.post('/api/rule-sets', { name });
  if (set.status !== 201) throw new Error(`POST /api/rule-sets: ${set.status} ${JSON.stringify(set.body)}`);
  for (let i = 0; i < count; i++) {
    const rule = {
      enabled: true,
      activityMonitoring: true,
      description: `bench rule ${i}`,
      selector: { direction: 'inbound', protocol: i % 2 ? 'udp' : 'tcp', localPort: 10_000 + i },
      forwardAs: { localPort: 20_000 + i },
    };
    const added = await admin.post(`/api/rule-sets/${set.body.id}/rules`, { rule });
    if (added.status !== 201) throw new Error(`adding rule ${i}: ${added.status} ${JSON.stringify(added.body)}`);
  }
  const latest = (await admin.get(`/api/rule-sets/${set.body.id}`)).body;
  return { id: latest.id, version: latest.version, contentHash: latest.contentHash };
}

/** Creates and returns one enrollment token per call; a 5xx (an overloaded controller) is retried. */
export function tokenSource(admin: ApiSession): () => Promise<string> {
  return async () => {
    for (let attempt = 1; ; attempt++) {
      const res = await admin.post('/api/enrollment-tokens', {});
      if (res.status === 201) return res.body.token as string;
      if (res.status < 500 || attempt === 5) throw new Error(`POST /api/enrollment-tokens: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  };
}

/**
 * The fleet a benchmark runs: `enroll` enrolls every host for real (tokens + gRPC Enroll);
 * `sql` writes all but one straight into the database (seed-agents.ts) and enrolls the last one
 * for real, so the controller itself assigns the seats. Returns the enrollment time and retries.
 */
export async function benchFleet(
  bench: BenchStack,
  options: { seed: string; count: number; concurrency: number; agentsPerChannel: number; hostnamePrefix: string; progress?: (done: number) => void },
): Promise<{ fleet: Fleet; enrollS: number; retries: Map<string, number> }> {
  const retries = new Map<string, number>();
  const fleetOptions = { target: bench.stack.grpcAddress, agentsPerChannel: options.agentsPerChannel };
  const enroll = async (count: number, firstIndex: number) => {
    const pool = new ChannelPool(bench.stack.grpcAddress, options.agentsPerChannel);
    try {
      return await enrollFleet({
        pool,
        count,
      firstIndex,
      concurrency: options.concurrency,
      hostnamePrefix: options.hostnamePrefix,
      tokens: tokenSource(bench.admin),
      progress: options.progress,
        retried: (reason) => retries.set(reason, (retries.get(reason) ?? 0) + 1),
      });
    } finally {
      pool.close();
    }
  };
  const started = Date.now();
  let identities: AgentIdentity[];
  if (options.seed === 'enroll') {
    identities = await enroll(options.count, 0);
  } else if (options.seed === 'sql') {
    const seeded = await seedAgents(bench.db, { count: options.count - 1, hostnamePrefix: options.hostnamePrefix });
    identities = [...seeded, ...(await enroll(1, options.count - 1))];
  } else {
    throw new Error(`--seed: expected enroll or sql, got "${options.seed}"`);
  }
  return { fleet: new Fleet(fleetOptions, identities), enrollS: (Date.now() - started) / 1000, retries };
}
