/**
 * Push fan-out at fleet scale (issue 10): the real controller on embedded PostgreSQL, N simulated
 * agents over real gRPC (100 streams per channel), one rule-set version pushed to all of them with
 * POST /api/pushes. Per agent: time from the push call until its applied ack is durable — seen
 * committed in push_targets by a poller on the database, on its own thread (every --poll-ms; each
 * figure is an upper bound by at most one poll interval plus the query time). Controller memory
 * from /proc.
 * Human table on stderr, one JSON line last on stdout.
 *   npm run bench:push -- --agents 10000 [--seed enroll|sql] [--per-channel 100] [--enroll-concurrency 16]
 *     [--log-level info] [--node-options=--max-old-space-size=448] [--controller-log file]
 * --seed sql writes all agents but one straight into the database (bench/seed-agents.ts) when
 * enrolling N hosts one by one would take too long; the push path measured is the same.
 */
import { writeFileSync } from 'node:fs';
import { type Fleet, Percentiles } from '../fleet-sim';
import type { ApiSession } from '../api';
import { benchArgs } from './bench-args';
import { machineLoad, note, printResult, printTable } from './bench-output';
import { benchFleet, createRuleSet, startBenchStack } from './bench-stack';
import { coresBusy, cpuSeconds, waitIdle } from './process-cpu';
import { processMemory } from './process-memory';
import { durableTimes, watchDurable } from './durable-watcher';

const { num, str } = benchArgs(
  { agents: 1000, 'per-channel': 100, 'enroll-concurrency': 16, 'poll-ms': 20, 'timeout-s': 600, rules: 3 },
  { seed: 'enroll', 'log-level': 'info', 'node-options': '', 'controller-log': '' },
);

async function main(): Promise<void> {
  const loadBefore = machineLoad();
  note(`starting the controller (${loadBefore})`);
  const bench = await startBenchStack({ logLevel: str['log-level'], nodeOptions: str['node-options'] });
  let fleet: Fleet | undefined;
  try {
    const ruleSet = await createRuleSet(bench.admin, 'bench-push', num.rules);
    note(`${str.seed === 'sql' ? 'seeding' : 'enrolling'} ${num.agents} agents (${num['enroll-concurrency']} enrollments at a time)`);
    const seeded = await benchFleet(bench, {
      seed: str.seed,
      count: num.agents,
      concurrency: num['enroll-concurrency'],
      agentsPerChannel: num['per-channel'],
      hostnamePrefix: 'bench',
      progress: (done) => done % Math.max(1, Math.round(num.agents / 10)) === 0 && note(`  enrolled ${done}`),
    });
    fleet = seeded.fleet;
    const { enrollS, retries: enrollRetries } = seeded;
    const rssEnrolled = processMemory(bench.controllerPid);
    const connectStart = Date.now();
    fleet.start();
    const progress = setInterval(() => note(`  ${fleet!.onlineCount}/${num.agents} welcomed, disconnects ${fleet!.disconnectSummary()}`), 15_000);
    await fleet.waitConnected(num['timeout-s'] * 1000).finally(() => clearInterval(progress));
    const connectS = (Date.now() - connectStart) / 1000;
    note(`${fleet.onlineCount} agents connected on ${fleet.pool.channels} channels in ${connectS.toFixed(1)} s; waiting until the controller is idle`);
    const settleS = await waitQuiet(bench.controllerPid);
    const rssBefore = processMemory(bench.controllerPid);

    // Durability watcher (its own thread): how many targets are committed as applied, and when.
    const peak = { rss: rssBefore.rssMb };
    const memoryWatch = setInterval(() => (peak.rss = Math.max(peak.rss, processMemory(bench.controllerPid).rssMb)), 100);
    const cpuBefore = cpuSeconds(bench.controllerPid);
    const t0 = Date.now();
    const watcher = watchDurable({ connectionString: bench.db.options.connectionString!, pollMs: num['poll-ms'], until: num.agents });
    let watching = true;

    note(`pushing v${ruleSet.version} to ${num.agents} agents`);
    // Not awaited first: the controller may answer only after it has delivered to every agent.
    const pushCall = bench.admin
      .post('/api/pushes', { ruleSetId: ruleSet.id, version: ruleSet.version, agentIds: fleet.identities.map((i) => i.agentId) })
      .then(
        (res) => ({ res, ms: Date.now() - t0 }),
        // No answer (the HTTP client gave up): reported like a refusal, with the controller stopped cleanly.
        (error: unknown) => ({ res: { status: 0, body: { error: String(error) } } as Awaited<ReturnType<ApiSession['post']>>, ms: Date.now() - t0 }),
      )
      .then((call) => {
        if (call.res.status !== 201) watching = false; // nothing will arrive
        return call;
      });
    const deadline = t0 + num['timeout-s'] * 1000;
    while (watching && watcher.latest() < num.agents && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const counts = await watcher.stop();
    clearInterval(memoryWatch);
    const allMs = (counts.at(-1)?.atMs ?? Date.now()) - t0;
    const { res: push, ms: pushCallMs } = await pushCall;
    // A refused push is a result too (applied 0): the table and JSON still say what happened.
    const pushError = push.status === 201 ? '' : `POST /api/pushes: ${push.status} ${JSON.stringify(push.body).slice(0, 200)}`;
    const cores = coresBusy(cpuBefore, cpuSeconds(bench.controllerPid), allMs / 1000);

    const { rows } = await bench.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM agents a JOIN push_targets t ON t.agent_id = a.id
        WHERE t.push_id = $1 AND t.state = 'applied' AND a.applied_rule_set_id = $2 AND a.applied_version = $3 AND a.applied_content_hash = $4`,
      [pushError ? '00000000-0000-0000-0000-000000000000' : push.body.id, ruleSet.id, ruleSet.version, ruleSet.contentHash],
    );
    const applied = Number(rows[0].n);
    const durable = new Percentiles(durableTimes(counts, t0));
    const ours = [...fleet.applies.values()].filter((r) => !pushError && r.pushId === push.body.id && r.ok);
    const ackSent = new Percentiles(ours.map((r) => r.atMs - t0));
    const received = new Percentiles(ours.map((r) => r.receivedAtMs - t0));
    const logged = controllerTimeline(bench.stack.controller.output, t0);
    if (str['controller-log']) writeFileSync(str['controller-log'], `${bench.stack.controller.output.join('\n')}\n`);
    const memory = processMemory(bench.controllerPid);

    printTable(`push fan-out: ${num.agents} agents, ${fleet.pool.channels} channels, ${num.rules}-rule set (log level ${str['log-level']})`, [
      ['machine before', loadBefore],
      ['machine after', machineLoad()],
      ['enrollment', str.seed === 'sql' ? `SQL seed + 1 enrolled: ${enrollS.toFixed(1)} s` : `${enrollS.toFixed(1)} s (${Math.round(num.agents / enrollS)}/s, ${num['enroll-concurrency']} at a time)`],
      ['enrollment retries', enrollRetries.size === 0 ? '0' : [...enrollRetries].map(([r, n]) => `${n}× ${r.slice(0, 60)}`).join('; ')],
      ['connect (all welcomed)', `${connectS.toFixed(1)} s, then ${settleS.toFixed(0)} s until the controller was idle`],
      ['POST /api/pushes answered', `${pushCallMs} ms${pushError ? ` — FAILED: ${pushError}` : ''}`],
      ['applied (durable, verified)', `${applied}/${num.agents}`],
      ['durable p50 / p99 / max', `${durable.at(50)} / ${durable.at(99)} / ${durable.max} ms`],
      ['push recorded (controller)', logged.recorded],
      ['sent on the streams (controller)', logged.sent],
      ['received by agent p1 / p50 / p99 / max', `${received.at(1)} / ${received.at(50)} / ${received.at(99)} / ${received.max} ms`],
      ['ack sent by agent p50 / p99', `${ackSent.at(50)} / ${ackSent.at(99)} ms`],
      ['all durable after', `${allMs} ms`],
      ['controller CPU in push', `${cores.controller.toFixed(2)} cores (its PostgreSQL ${cores.postgres.toFixed(2)})`],
      ['controller RSS enrolled, idle', `${rssEnrolled.rssMb.toFixed(0)} MB`],
      ['controller RSS all connected', `${rssBefore.rssMb.toFixed(0)} MB`],
      ['controller RSS peak in push', `${peak.rss.toFixed(0)} MB`],
      ['controller RSS peak (VmHWM)', `${memory.peakRssMb.toFixed(0)} MB`],
      ['stream disconnects seen', fleet.disconnectSummary()],
    ]);
    printResult({
      agents: num.agents,
      applied,
      p50_ms: durable.count ? durable.at(50) : -1,
      p99_ms: durable.count ? durable.at(99) : -1,
      controller_rss_mb: Math.round(memory.peakRssMb),
    });
    if (pushError || applied < num.agents) process.exitCode = 1;
  } catch (error) {
    process.stderr.write(`controller output (last lines):\n${bench.stack.controller.tail(30)}\n`);
    if (fleet) note(`simulator: ${fleet.onlineCount}/${fleet.agents.length} online, disconnects ${fleet.disconnectSummary()}`);
    throw error;
  } finally {
    await fleet?.stop();
    await bench.stop();
  }
}

/**
 * Waits until the controller (with its PostgreSQL) has stayed idle over a window longer than its
 * background cycles (capability snapshots are signed ahead every 5 s): a push made between two
 * cycles of a connect storm's after-work would measure that work too. Returns the seconds waited.
 */
async function waitQuiet(pid: number, windowS = 6, maxCores = 0.1): Promise<number> {
  const started = Date.now();
  for (;;) {
    await waitIdle(pid, maxCores);
    const before = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const after = cpuSeconds(pid);
    const cores = (after.self - before.self + after.children - before.children) / windowS;
    if (cores < maxCores || Date.now() - started > 180_000) return (Date.now() - started) / 1000;
  }
}

/**
 * The controller's own account of the push, from its log lines (pino `time`, same clock): when the
 * push was committed, and when its sends were written to the streams and marked delivered.
 */
function controllerTimeline(lines: readonly string[], t0: number): { recorded: string; sent: string } {
  let recorded = 'not logged';
  let sent = 'not logged';
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; time?: number; ms?: number; sentMs?: number; agents?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.time === undefined || entry.time < t0) continue;
    if (entry.msg === 'push recorded') recorded = `at ${entry.time - t0} ms (transaction ${entry.ms} ms)`;
    if (entry.msg === 'rule set delivered' && (entry.agents ?? 0) > 1) {
      const start = entry.time - t0 - (entry.ms ?? 0);
      sent = `${entry.agents} from ${start} ms, written by ${start + (entry.sentMs ?? 0)} ms, marked delivered by ${entry.time - t0} ms`;
    }
  }
  return { recorded, sent };
}

main().catch((error) => {
  process.stderr.write(`bench:push failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
