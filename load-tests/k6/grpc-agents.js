// k6: agents on the gRPC AgentService — every VU is one host: it enrolls once with its own
// one-time token, holds a Connect stream (Hello with inventory, acks every ApplyRuleSet it gets,
// an ActivityReport with a growing seq every REPORT_MS) and measures the time to Welcome and to
// each ActivityAck. For full fleet behaviour (content-hash validation, seq re-anchoring after a
// reconnect, 10k hosts per process) use load-tests/fleet-sim; this script is for k6 users.
//   PORTFLEET_GRPC=127.0.0.1:50051 PORTFLEET_HTTP=http://127.0.0.1:8080 PORTFLEET_API_TOKEN=pft_… \
//     k6 run load-tests/k6/grpc-agents.js       (token: scope write, operator role)
//   optional: VUS (50), SESSION_S (30), REPORT_MS (1000)
import { check, fail } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import grpc from 'k6/net/grpc';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';

const TARGET = __ENV.PORTFLEET_GRPC || '127.0.0.1:50051';
const BASE = __ENV.PORTFLEET_HTTP || 'http://127.0.0.1:8080';
const TOKEN = __ENV.PORTFLEET_API_TOKEN || '';
const VUS = Number(__ENV.VUS || 50);
const SESSION_S = Number(__ENV.SESSION_S || 30);
const REPORT_MS = Number(__ENV.REPORT_MS || 1000);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { fleet: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: `${SESSION_S + 60}s` } },
  thresholds: {
    welcome_ms: ['p(99)<1000'],
    activity_ack_ms: ['p(99)<1000'],
    checks: ['rate>0.999'],
  },
};

const welcomeMs = new Trend('welcome_ms', true);
const activityAckMs = new Trend('activity_ack_ms', true);
const applied = new Counter('rule_sets_acked');

const client = new grpc.Client();
client.load(['../../proto'], 'portfleet/v1/agent.proto');

/** One enrollment token per VU, made by an operator's API token. */
export function setup() {
  if (!TOKEN) fail('set PORTFLEET_API_TOKEN to an API token with write scope (operator)');
  const tokens = [];
  for (let i = 0; i < VUS; i++) {
    const res = http.post(`${BASE}/api/enrollment-tokens`, '{}', { headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    if (res.status !== 201) fail(`POST /api/enrollment-tokens: ${res.status} ${res.body}`);
    tokens.push(/** @type {{token: string}} */ (res.json()).token);
  }
  return { tokens };
}

/** @param {{tokens: string[]}} data */
export default function (data) {
  const vu = exec.vu.idInTest;
  const hostname = `k6-${String(vu).padStart(5, '0')}`;
  client.connect(TARGET, { plaintext: true });
  const enrolled = client.invoke('portfleet.v1.AgentService/Enroll', { token: data.tokens[vu - 1], hostname, platform: 'linux', version: 'k6' });
  if (!check(enrolled, { 'Enroll OK': (r) => r.status === grpc.StatusOK })) return;
  const { agentId, credential } = /** @type {{agentId: string, credential: string}} */ (enrolled.message);

  const stream = new grpc.Stream(client, 'portfleet.v1.AgentService/Connect', { metadata: { authorization: `Bearer ${agentId}.${credential}` } });
  const opened = Date.now();
  /** @type {Map<number, number>} seq → sent at (ms) */
  const sent = new Map();
  let seq = 0;
  /** @type {string[]} */
  let monitored = [];
  let welcomed = false;

  stream.on('data', (message) => {
    const m = /** @type {{welcome?: {activitySeqStored?: string}, apply?: {pushId: string, ruleSet?: {ruleSetId: string, version: number, contentHash: string, rules?: Array<{id: string, activityMonitoring?: boolean}>}}, activityAck?: {seq: string}}} */ (message);
    if (m.welcome) {
      welcomed = true;
      welcomeMs.add(Date.now() - opened);
      seq = Number(m.welcome.activitySeqStored || 0);
    } else if (m.apply && m.apply.ruleSet) {
      const rs = m.apply.ruleSet;
      monitored = (rs.rules || []).filter((r) => r.activityMonitoring).map((r) => r.id);
      stream.write({ ack: { pushId: m.apply.pushId, ruleSetId: rs.ruleSetId, version: rs.version, contentHash: rs.contentHash, applied: true } });
      applied.add(1);
    } else if (m.activityAck) {
      const at = sent.get(Number(m.activityAck.seq));
      if (at !== undefined) activityAckMs.add(Date.now() - at);
      sent.delete(Number(m.activityAck.seq));
    }
  });
  stream.on('error', (e) => check(e, { 'stream without error': () => false }));

  stream.write({
    hello: {
      hostname,
      platform: 'linux',
      version: 'k6',
      adapters: [{ name: 'eth0', index: 2, macs: [`02:00:00:00:${(vu >> 8).toString(16).padStart(2, '0')}:${(vu & 255).toString(16).padStart(2, '0')}`], addresses: [`10.0.${vu >> 8}.${vu & 255}/8`] }],
      dataplane: { kind: 'k6', layer2: false, reflection: false, adapters: true, clone: false },
    },
  });

  // Stream callbacks run on the VU's event loop, so reporting is timer-driven (a sleep() loop
  // would keep them from running); the iteration lasts until the stream has ended.
  let periodStart = Date.now();
  const reporter = setInterval(() => {
    if (!welcomed || monitored.length === 0) return;
    const now = Date.now();
    seq++;
    sent.set(seq, now);
    stream.write({
      activity: {
        seq,
        periodStartMs: periodStart,
        periodEndMs: now,
        rules: monitored.map((ruleId) => ({ ruleId, packetsIn: 10, bytesIn: 1200, packetsOut: 10, bytesOut: 800, conversationsActive: 1, conversationsNew: 1, lastHitMs: now })),
      },
    });
    periodStart = now;
  }, REPORT_MS);
  stream.on('end', () => client.close());
  setTimeout(() => {
    clearInterval(reporter);
    check(welcomed, { welcomed: (w) => w });
    stream.end();
  }, SESSION_S * 1000);
}
