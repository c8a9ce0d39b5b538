/**
 * The fleet simulator as a command: N agents in this process against a running controller.
 *   node load-tests/dist/fleet-sim/main.js --controller 127.0.0.1:50051[,127.0.0.1:50052…] --http http://127.0.0.1:8080 \
 *     --agents 1000 [--api-token pft_… | --admin-user admin (password in PORTFLEET_ADMIN_PASSWORD)] \
 *     [--state fleet.json] [--per-channel 100] [--enroll-concurrency 16] [--report-interval-ms 5000] \
 *     [--duration-s 0] [--no-heartbeats]
 * Status every 5 s on stderr; on SIGINT/SIGTERM (or after --duration-s) reporting stops, what is
 * owed is drained (10 s at most) and a JSON summary is printed on stdout.
 */
import { parseArgs } from 'node:util';
import { Fleet } from './fleet';
import { httpTokenSource, type AdminAuth } from './http-tokens';
import { readIdentities, writeIdentities } from './identity-file';
import { Percentiles } from './percentiles';
import type { AgentIdentity } from './sim-agent';

const USAGE = 'usage: fleet-sim --controller HOST:PORT[,HOST:PORT…] --agents N [--http URL (--api-token T | --admin-user U)] [--state FILE] [--per-channel 100] [--enroll-concurrency 16] [--report-interval-ms 5000] [--duration-s 0] [--no-heartbeats]';

function options() {
  const { values } = parseArgs({
    strict: true,
    options: {
      controller: { type: 'string' },
      http: { type: 'string' },
      agents: { type: 'string', default: '100' },
      'api-token': { type: 'string' },
      'admin-user': { type: 'string' },
      state: { type: 'string' },
      'per-channel': { type: 'string', default: '100' },
      'enroll-concurrency': { type: 'string', default: '16' },
      'report-interval-ms': { type: 'string', default: '5000' },
      'duration-s': { type: 'string', default: '0' },
      'no-heartbeats': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got "${values[name]}"`);
    return n;
  };
  if (!values.controller) throw new Error('--controller: required (the gRPC address, host:port, or several comma-separated)');
  const controllers = values.controller.split(',').map((a) => a.trim().replace(/^(grpc|http):\/\//, ''));
  if (controllers.some((a) => !a)) throw new Error(`--controller: an empty address in "${values.controller}"`);
  return {
    controller: controllers,
    http: values.http,
    agents: int('agents', 1),
    auth: values['api-token']
      ? ({ apiToken: values['api-token'] } as AdminAuth)
      : values['admin-user']
        ? ({ username: values['admin-user'], password: process.env.PORTFLEET_ADMIN_PASSWORD ?? '' } as AdminAuth)
        : undefined,
    state: values.state,
    perChannel: int('per-channel', 1),
    enrollConcurrency: int('enroll-concurrency', 1),
    reportIntervalMs: int('report-interval-ms', 0),
    durationS: int('duration-s', 0),
    heartbeats: !values['no-heartbeats'],
  };
}

async function main(): Promise<void> {
  const o = options();
  const log = (line: string) => process.stderr.write(`[fleet-sim ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const known = o.state ? readIdentities(o.state) : [];
  let identities: AgentIdentity[] = known.slice(0, o.agents);
  const missing = o.agents - identities.length;
  const fleetOptions = { target: o.controller, agentsPerChannel: o.perChannel, heartbeats: o.heartbeats };
  if (missing > 0) {
    if (!o.http || !o.auth) throw new Error(`${missing} agents need enrolling: give --http and --api-token or --admin-user`);
    log(`enrolling ${missing} agents (${o.enrollConcurrency} at a time)`);
    const enrolled = await Fleet.enroll(fleetOptions, {
      count: missing,
      tokens: await httpTokenSource(o.http, o.auth),
      concurrency: o.enrollConcurrency,
      hostnamePrefix: 'sim',
      firstIndex: identities.length,
      progress: (n) => n % 100 === 0 && log(`  enrolled ${n}/${missing}`),
    });
    identities = [...identities, ...enrolled.identities];
    enrolled.pool.close();
    if (o.state) writeIdentities(o.state, identities);
  }
  const fleet = new Fleet(fleetOptions, identities);
  fleet.on('applied', (agent, r) => !r.ok && log(`${agent.identity.hostname} rejected push ${r.pushId}`));
  fleet.start();
  log(`${identities.length} agents starting on ${fleet.pool.channels} channels`);
  if (o.reportIntervalMs > 0) fleet.startActivity(o.reportIntervalMs);

  let lagsSeen = 0;
  const status = setInterval(() => {
    const versions = new Map<string, number>();
    for (const a of fleet.agents) {
      const key = a.applied ? `v${a.applied.version}` : 'none';
      versions.set(key, (versions.get(key) ?? 0) + 1);
    }
    const lag = new Percentiles(fleet.lagsMs.slice(lagsSeen));
    lagsSeen = fleet.lagsMs.length;
    log(
      `online ${fleet.onlineCount}/${fleet.agents.length}, applied ${[...versions].map(([v, n]) => `${v}:${n}`).join(' ')}, ` +
        `reports stored ${fleet.storedReports}${lag.count ? ` (lag p99 ${lag.at(99)} ms)` : ''}, disconnects ${fleet.disconnects}`,
    );
  }, 5000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (o.durationS > 0) setTimeout(resolve, o.durationS * 1000);
  });
  clearInterval(status);
  fleet.stopActivity();
  log('stopping: draining activity');
  await fleet.drainActivity(10_000).catch((e: Error) => log(e.message));
  const online = fleet.onlineCount;
  await fleet.stop();
  process.stdout.write(
    `${JSON.stringify({ agents: fleet.agents.length, online, reportsStored: fleet.storedReports, samplesStored: fleet.storedSamples, ...fleet.storedTotals() })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`fleet-sim: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(1);
});
