/**
 * Activity ingest at fleet rate (issue 10): N simulated agents over real gRPC, each running a
 * pushed rule set of --rules monitored rules, end a reporting period every --interval-ms (spread
 * evenly); every period is one ActivityReport with one rule-sample per rule. The default is the
 * goal's load in a real fleet's shape: 10,000 agents reporting every 2.5 s with 50 rules each (the
 * most an Ultimate host may have) = 200,000 samples/s in 4,000 reports/s.
 * samples_per_s is counted in PostgreSQL: the agents' stored seqs (Σ `activity_watermarks.seq`, moved
 * in the same transaction as the raw reports) at the window's start and end, × rules per report.
 * The controller acks a report only after its commit: lag = ActivityAck time − period end.
 * Throughput is measured over --seconds after --warmup-s; afterwards everything is drained and
 * the stored sums in PostgreSQL must equal what the agents reported.
 * Human table on stderr, one JSON line last on stdout.
 *   npm run bench:ingest -- [--agents 10000] [--interval-ms 2500] [--rules 50] [--seconds 20] [--seed sql|enroll] [--controller-log file]
 */
import { writeFileSync } from 'node:fs';
import { EDITIONS, LICENSE_PUBLIC_KEY_ENV, generateLicenseKeyPair, issueLicenseKey, newLicenseSerial } from '@portfleet/proto';
import { type Fleet, Percentiles } from '../fleet-sim';
import { benchArgs } from './bench-args';
import { machineLoad, note, printResult, printTable } from './bench-output';
import { benchFleet, createRuleSet, startBenchStack, type BenchStack } from './bench-stack';
import { coresBusy, cpuSeconds, waitIdle } from './process-cpu';
import { processMemory } from './process-memory';

const { num, str } = benchArgs(
  { agents: 10_000, 'interval-ms': 2500, rules: 50, seconds: 20, 'warmup-s': 5, 'per-channel': 100, 'enroll-concurrency': 16, 'drain-timeout-s': 120 },
  { seed: 'sql', 'log-level': 'warn', 'node-options': '', 'controller-log': '' },
);

async function main(): Promise<void> {
  const loadBefore = machineLoad();
  note(`starting the controller (${loadBefore})`);
  // More rules per host than the trial allows: an Ultimate key from a vendor key pair made for this run.
  const vendor = num.rules > EDITIONS.trial.maxRules ? generateLicenseKeyPair() : undefined;
  if (vendor) process.env[LICENSE_PUBLIC_KEY_ENV] = vendor.publicKeyPem; // the harness passes our environment on
  const bench = await startBenchStack({ logLevel: str['log-level'], nodeOptions: str['node-options'] });
  let fleet: Fleet | undefined;
  try {
    note(`${str.seed === 'sql' ? 'seeding' : 'enrolling'} ${num.agents} agents`);
    fleet = (await benchFleet(bench, { seed: str.seed, count: num.agents, concurrency: num['enroll-concurrency'], agentsPerChannel: num['per-channel'], hostnamePrefix: 'ingest' })).fleet;
    fleet.start();
    await fleet.waitConnected(120_000);
    // After the fleet exists: activation hands the seats to the agents enrolled by then.
    if (vendor) {
      const key = issueLicenseKey({ serial: newLicenseSerial(), edition: 'ultimate', seats: num.agents, issuedTo: 'bench:ingest', issuedAtMs: Date.now() - 60_000, expiresAtMs: null }, vendor.privateKeyPem);
      const activated = await bench.admin.post('/api/license', { key });
      if (activated.status !== 200 && activated.status !== 201) throw new Error(`POST /api/license: ${activated.status} ${JSON.stringify(activated.body)}`);
    }
    const ruleSet = await createRuleSet(bench.admin, 'bench-ingest', num.rules);
    const push = await bench.admin.post('/api/pushes', { ruleSetId: ruleSet.id, version: ruleSet.version, agentIds: fleet.identities.map((i) => i.agentId) });
    if (push.status !== 201) throw new Error(`POST /api/pushes: ${push.status} ${JSON.stringify(push.body)}`);
    await fleet.waitApplied(ruleSet.version, 300_000);
    await waitIdle(bench.controllerPid);

    const offered = (num.agents * num.rules * 1000) / num['interval-ms'];
    note(`reporting: ${num.agents} agents × ${num.rules} rules every ${num['interval-ms']} ms = ${Math.round(offered)} samples/s offered`);
    fleet.startActivity(num['interval-ms']);
    await sleep(num['warmup-s'] * 1000);
    const simCpuStart = process.cpuUsage();
    const start = { at: Date.now(), samples: fleet.storedSamples, reportsInDb: await durableReports(bench.db), lags: fleet.lagsMs.length, cpu: cpuSeconds(bench.controllerPid) };
    let peakRss = 0;
    // By the clock, not by counting sleeps: on a starved simulator each sleep overruns.
    for (const until = Date.now() + num.seconds * 1000; Date.now() < until; ) {
      await sleep(250);
      peakRss = Math.max(peakRss, processMemory(bench.controllerPid).rssMb);
    }
    const end = { at: Date.now(), samples: fleet.storedSamples, reportsInDb: await durableReports(bench.db), lags: fleet.lagsMs.length };
    const simCpu = process.cpuUsage(simCpuStart);
    fleet.stopActivity();
    const windowS = (end.at - start.at) / 1000;
    const cores = coresBusy(start.cpu, cpuSeconds(bench.controllerPid), windowS);
    const samplesPerS = ((end.reportsInDb - start.reportsInDb) * num.rules) / windowS;
    const ackedPerS = (end.samples - start.samples) / windowS;
    const simCores = (simCpu.user + simCpu.system) / 1e6 / windowS;
    const perSample = (coresUsed: number) => (samplesPerS > 0 ? ((coresUsed * 1e6) / samplesPerS).toFixed(1) : '–');
    const lag = new Percentiles(fleet.lagsMs.slice(start.lags, end.lags));

    note('draining: waiting until every report is stored');
    const drainStart = Date.now();
    // An undrained backlog is a result too: the table and JSON still say what was measured.
    const drainError = await fleet.drainActivity(num['drain-timeout-s'] * 1000).then(() => '', (e: Error) => e.message);
    const drainS = (Date.now() - drainStart) / 1000;
    // Acked before the query, so committed before it (undrained, acks are still arriving).
    const stored = fleet.storedTotals().packetsIn;
    // The view: stored buckets plus raw reports not rolled up yet (docs/controller.md "Activity").
    const { rows } = await bench.db.query<{ packets_in: string | null }>(`SELECT sum(packets_in)::text AS packets_in FROM activity_buckets`);
    const inDb = Number(rows[0].packets_in ?? 0);
    const reported = fleet.recordedTotals().packetsIn;
    // Every report carries one sample per monitored rule (what samples_per_s multiplies by).
    if (fleet.storedSamples !== fleet.storedReports * num.rules) throw new Error(`acked ${fleet.storedSamples} samples in ${fleet.storedReports} reports: not ${num.rules} per report`);
    // What the controller acked must be in PostgreSQL, exactly once (more while undrained: stored but not yet acked).
    if (drainError ? inDb < stored : inDb !== reported) throw new Error(`PostgreSQL holds ${inDb} packets_in; acked ${stored}, reported ${reported}`);
    printTable(`activity ingest: ${num.agents} agents × ${num.rules} rules every ${num['interval-ms']} ms (log level ${str['log-level']})`, [
      ['machine before', loadBefore],
      ['machine after', machineLoad()],
      ['offered', `${Math.round(offered)} samples/s (${Math.round(offered / num.rules)} reports/s)`],
      ['durable (window)', `${Math.round(samplesPerS)} samples/s over ${windowS.toFixed(1)} s in PostgreSQL (acked: ${Math.round(ackedPerS)} samples/s)`],
      ['lag p50 / p99 / max', `${lag.at(50)} / ${lag.at(99)} / ${lag.max} ms`],
      ['drain after stop', drainError ? `FAILED after ${drainS.toFixed(0)} s: ${drainError}` : `${drainS.toFixed(1)} s`],
      ['PostgreSQL packets_in', drainError ? `${inDb} (acked ${stored}, reported ${reported})` : `${inDb} = reported`],
      ['CPU in window', `controller ${cores.controller.toFixed(2)} cores, its PostgreSQL ${cores.postgres.toFixed(2)}, simulator ${simCores.toFixed(2)}`],
      // Robust to a busy machine (a share of the cores buys samples at this price): what 200,000 samples/s would need.
      ['CPU per durable sample', `controller ${perSample(cores.controller)} µs, PostgreSQL ${perSample(cores.postgres)} µs, simulator ${perSample(simCores)} µs`],
      ['controller RSS peak (window)', `${peakRss.toFixed(0)} MB`],
      ['stream disconnects seen', fleet.disconnectSummary()],
      ['reports stored in window', `${end.lags - start.lags}`],
    ]);
    printResult({ samples_per_s: Math.round(samplesPerS), lag_p99_ms: lag.count ? lag.at(99) : -1 });
    if (drainError) process.exitCode = 1;
  } catch (error) {
    process.stderr.write(`controller output (last lines):\n${bench.stack.controller.tail(30)}\n`);
    if (fleet) note(`simulator: ${fleet.onlineCount}/${fleet.agents.length} online, disconnects ${fleet.disconnectSummary()}`);
    throw error;
  } finally {
    if (str['controller-log']) writeFileSync(str['controller-log'], `${bench.stack.controller.output.join('\n')}\n`);
    await fleet?.stop();
    await bench.stop();
  }
}

/** Reports durable in PostgreSQL so far: each agent's stored seq counts its reports (seqs start at 1, +1 per report). */
async function durableReports(db: BenchStack['db']): Promise<number> {
  const { rows } = await db.query<{ n: string | null }>('SELECT sum(seq)::text AS n FROM activity_watermarks');
  return Number(rows[0]!.n ?? 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().catch((error) => {
  process.stderr.write(`bench:ingest failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
