/**
 * Listing agents through the real controller's HTTP API (issue 10): --agents rows in PostgreSQL,
 * GET /api/agents page by page with an API token (read scope), driven by autocannon for --seconds
 * over --connections keep-alive connections, cycling through every page (shallow and deep).
 * Pages are followed with `?limit=<page-size>` and the cursor the response names (`nextCursor` →
 * `cursor`, `nextPageToken` → `pageToken`); a controller that ignores `limit` is measured as it is
 * (every response the whole fleet) and said so on stderr.
 * Seeding: `--seed sql` (default) inserts agents shaped like enrolled, inventoried hosts straight
 * into the agents table; `--seed enroll` enrolls them for real with the fleet simulator (slower).
 * Human table on stderr, one JSON line last on stdout.
 * `--row-updates N`: meanwhile N agent rows a second change (their `last_seen_at`, as leaves and the
 * online last-seen refresh write it), in batches every 100 ms: each changed agent's JSON is made again on the next
 * page that shows it (the controller keeps agents' JSON per row version). PostgreSQL's figure then
 * includes those writes.
 *   npm run bench:api -- [--agents 10000] [--connections 10] [--seconds 10] [--page-size 100] [--auth token|session] [--row-updates 0]
 */
import autocannon from 'autocannon';
import type { ApiSession } from '../api';
import { Fleet } from '../fleet-sim';
import { benchArgs } from './bench-args';
import { machineLoad, note, printResult, printTable } from './bench-output';
import { startBenchStack, tokenSource, type BenchStack } from './bench-stack';
import { coresBusy, cpuSeconds } from './process-cpu';
import { processMemory } from './process-memory';
import { seedAgents } from './seed-agents';

const { num, str } = benchArgs(
  { agents: 10_000, connections: 10, seconds: 10, 'page-size': 100, 'warmup-s': 2, 'enroll-concurrency': 16, 'row-updates': 0 },
  { seed: 'sql', auth: 'token', 'log-level': 'info', 'node-options': '' },
);

const CURSORS: Record<string, string> = { nextCursor: 'cursor', nextPageToken: 'pageToken' };

async function main(): Promise<void> {
  const loadBefore = machineLoad();
  note(`starting the controller (${loadBefore})`);
  const bench = await startBenchStack({ logLevel: str['log-level'], nodeOptions: str['node-options'] });
  let fleet: Fleet | undefined;
  try {
    note(`seeding ${num.agents} agents (${str.seed})`);
    if (str.seed === 'enroll') {
      fleet = await Fleet.enroll(
        { target: bench.stack.grpcAddress },
        { count: num.agents, concurrency: num['enroll-concurrency'], hostnamePrefix: 'api', tokens: tokenSource(bench.admin) },
      );
      fleet.start();
      await fleet.waitConnected(300_000);
    } else if (str.seed === 'sql') {
      await seedAgents(bench.db, { count: num.agents, hostnamePrefix: 'api' });
    } else {
      throw new Error(`--seed: expected sql or enroll, got "${str.seed}"`);
    }
    // A fleet's table has planner statistics: autovacuum analyzes it within a minute of 10 % of its
    // rows changing. Rows bulk-loaded a second ago have none, and PostgreSQL then guesses that
    // `retired_at IS NULL` keeps 0.5 % of them: it scans and sorts the whole table for every page
    // (25 ms instead of 0.4 ms) — a state no running fleet is in, so measure without it.
    await bench.db.query('ANALYZE agents');

    const headers = await authHeaders(bench, str.auth);
    const pages = await pagePaths(bench.admin, num['page-size']);
    const paged = pages.agentsPerResponse <= num['page-size'];
    if (!paged) note(`WARNING: GET /api/agents ignored limit=${num['page-size']}: every response carries ${pages.agentsPerResponse} agents`);
    note(`${pages.paths.length} page(s), ${pages.agentsPerResponse} agents in the first; ${num.connections} connections for ${num.seconds} s`);

    const requests = pages.paths.map((path) => ({ method: 'GET' as const, path }));
    await autocannon({ url: bench.stack.httpUrl, connections: num.connections, duration: num['warmup-s'], headers, requests });
    const updates = num['row-updates'] > 0 ? await rowUpdates(bench, num['row-updates']) : undefined;
    const cpuBefore = cpuSeconds(bench.controllerPid);
    const clientBefore = process.cpuUsage();
    let result: autocannon.Result;
    try {
      result = await autocannon({ url: bench.stack.httpUrl, connections: num.connections, duration: num.seconds, headers, requests });
    } finally {
      await updates?.stop();
    }
    const cores = coresBusy(cpuBefore, cpuSeconds(bench.controllerPid), result.duration);
    const client = process.cpuUsage(clientBefore);
    // Per request, the figures that do not depend on how much of the machine others left us.
    const msEach = (cores: number) => ((cores * result.duration * 1000) / Math.max(1, result.requests.total)).toFixed(2);
    const clientCores = (client.user + client.system) / 1e6 / result.duration;
    const failed = result.non2xx + result.errors + result.timeouts;
    const memory = processMemory(bench.controllerPid);

    printTable(`agent listing: ${num.agents} agents, page size ${num['page-size']}, ${num.connections} connections, ${num.seconds} s`, [
      ['machine before', loadBefore],
      ['machine after', machineLoad()],
      ['paged', paged ? `yes (${pages.paths.length} pages)` : `NO: ${pages.agentsPerResponse} agents per response`],
      ['requests', `${result.requests.total} (${failed} failed: non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`],
      ['rps mean / p50 (per s)', `${result.requests.average} / ${result.requests.p50}`],
      ['latency p50 / p99 / max', `${result.latency.p50} / ${result.latency.p99} / ${result.latency.max} ms`],
      ['agent rows changed meanwhile', updates ? `${updates.count()} (${(updates.count() / result.duration).toFixed(0)} a second)` : 'none'],
      ['auth', str.auth === 'token' ? 'API token (Authorization: Bearer pft_…)' : 'session cookie'],
      ['CPU', `controller ${cores.controller.toFixed(2)} cores, its PostgreSQL ${cores.postgres.toFixed(2)}, this client (autocannon) ${clientCores.toFixed(2)}`],
      ['CPU per request', `controller ${msEach(cores.controller)} ms, PostgreSQL ${msEach(cores.postgres)} ms, client ${msEach(clientCores)} ms`],
      ['throughput', `${(result.throughput.average / 1e6).toFixed(1)} MB/s`],
      ['controller RSS now / peak', `${memory.rssMb.toFixed(0)} / ${memory.peakRssMb.toFixed(0)} MB`],
    ]);
    if (failed > 0) throw new Error(`${failed} requests failed`);
    printResult({ rps: Math.round(result.requests.average), p99_ms: result.latency.p99 });
  } catch (error) {
    process.stderr.write(`controller output (last lines):\n${bench.stack.controller.tail(30)}\n`);
    if (fleet) note(`simulator: ${fleet.onlineCount}/${fleet.agents.length} online, disconnects ${fleet.disconnectSummary()}`);
    throw error;
  } finally {
    await fleet?.stop();
    await bench.stop();
  }
}

/** Changes `perSecond` random agents' rows a second, in batches every 100 ms, until stopped. */
async function rowUpdates(bench: BenchStack, perSecond: number): Promise<{ stop(): Promise<void>; count(): number }> {
  const ids = (await bench.db.query<{ id: string }>('SELECT id FROM agents')).rows.map((r) => r.id);
  const batch = Math.max(1, Math.round(perSecond / 10));
  let count = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const some = Array.from({ length: batch }, () => ids[Math.floor(Math.random() * ids.length)]!);
      const { rowCount } = await bench.db.query('UPDATE agents SET last_seen_at = clock_timestamp() WHERE id = ANY($1::uuid[])', [some]);
      count += rowCount ?? 0;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    count: () => count,
  };
}

/** An API token with read scope (the default), or the admin's session cookie (GETs need no CSRF). */
async function authHeaders(bench: BenchStack, auth: string): Promise<Record<string, string>> {
  if (auth === 'token') {
    const token = await bench.admin.post('/api/api-tokens', { name: 'bench-api', scopes: ['read'] });
    if (token.status !== 201) throw new Error(`POST /api/api-tokens: ${token.status} ${JSON.stringify(token.body)}`);
    return { authorization: `Bearer ${token.body.token}` };
  }
  if (auth !== 'session') throw new Error(`--auth: expected token or session, got "${auth}"`);
  const res = await fetch(`${bench.stack.httpUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: bench.stack.adminPassword }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status}`);
  return { cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

/** Walks the listing once and returns the path of every page. */
async function pagePaths(admin: ApiSession, pageSize: number): Promise<{ paths: string[]; agentsPerResponse: number }> {
  const paths: string[] = [];
  let path = `/api/agents?limit=${pageSize}`;
  let agentsPerResponse = 0;
  for (;;) {
    const res = await admin.get(path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    paths.push(path);
    agentsPerResponse ||= res.body.agents.length;
    const key = Object.keys(CURSORS).find((k) => typeof res.body[k] === 'string' && res.body[k] !== '');
    if (!key) return { paths, agentsPerResponse };
    path = `/api/agents?limit=${pageSize}&${CURSORS[key]}=${encodeURIComponent(res.body[key])}`;
  }
}

main().catch((error) => {
  process.stderr.write(`bench:api failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
