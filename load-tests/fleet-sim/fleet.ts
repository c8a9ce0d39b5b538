import { EventEmitter } from 'node:events';
import type { BackoffOptions } from '@portfleet/agent';
import type { ApplyRuleSet } from '@portfleet/proto/gen/agent';
import type { SentReport } from './activity-ledger';
import { ChannelPool, DEFAULT_AGENTS_PER_CHANNEL } from './channel-pool';
import { enrollFleet, type TokenSource } from './enrollment';
import { RuleSetValidations } from './rule-set-validations';
import { SimAgent, type AgentIdentity, type AgentListener } from './sim-agent';

export interface FleetOptions {
  /** The controller's gRPC address, `host:port`, or the addresses of its replicas (see ChannelPool). */
  target: string | readonly string[];
  agentsPerChannel?: number;
  heartbeats?: boolean;
  backoff?: BackoffOptions;
  handshakeTimeoutMs?: number;
  /** Per agent, reports sent and not yet acked before new periods are held back (default 8; see SimAgentOptions). */
  maxUnackedReports?: number;
}

export interface EnrollOptions {
  count: number;
  tokens: TokenSource;
  hostnamePrefix?: string;
  /** Index of the first new host (hosts enrolled earlier keep theirs). */
  firstIndex?: number;
  concurrency?: number;
  progress?: (done: number) => void;
  retried?: (reason: string) => void;
}

/** The latest ApplyRuleSet an agent answered. */
export interface ApplyRecord {
  pushId: string;
  version: number;
  ok: boolean;
  /** When the ack went out. */
  atMs: number;
  /** When the ApplyRuleSet arrived. */
  receivedAtMs: number;
}

/** Counter sums per rule, as the controller's activity totals give them. */
export interface CounterTotals {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  conversations: number;
}

export interface FleetEvents {
  connected: [agent: SimAgent];
  disconnected: [agent: SimAgent, reason: string];
  applied: [agent: SimAgent, record: ApplyRecord];
  activityStored: [agent: SimAgent, sent: SentReport, atMs: number];
}

const WHEEL_SLOT_MS = 10;
export const DEFAULT_MAX_UNACKED_REPORTS = 8;

/**
 * N simulated agents in this process over real gRPC, multiplexed on a pool of channels. Keeps
 * what a benchmark or test needs to check the controller: who is connected, what each agent
 * applied and when, and the activity the controller has acknowledged as stored.
 */
export class Fleet extends EventEmitter<FleetEvents> {
  readonly agents: SimAgent[];
  readonly pool: ChannelPool;
  /** The latest ApplyRuleSet each agent (by id) answered. */
  readonly applies = new Map<string, ApplyRecord>();
  /** ms from a report's period end to its ActivityAck, one entry per stored report. */
  readonly lagsMs: number[] = [];
  storedReports = 0;
  storedSamples = 0;
  disconnects = 0;
  /** Why welcomed streams ended, with counts (gRPC status and details). */
  readonly disconnectReasons = new Map<string, number>();
  /** Streams that ended before their Welcome, and why (gRPC status and details, or the handshake timeout). */
  failedHandshakes = 0;
  readonly handshakeFailureReasons = new Map<string, number>();
  /** Each distinct pushed rule set version is validated once for the whole fleet. */
  readonly validations = new RuleSetValidations();
  private online = 0;
  private wheel: NodeJS.Timeout | undefined;

  constructor(
    readonly options: FleetOptions,
    identities: readonly AgentIdentity[],
    pool?: ChannelPool,
  ) {
    super();
    this.setMaxListeners(0);
    this.pool = pool ?? new ChannelPool(options.target, options.agentsPerChannel ?? DEFAULT_AGENTS_PER_CHANNEL);
    const listener = this.listener();
    this.agents = identities.map(
      (identity) =>
        new SimAgent({
          identity,
          client: (attempt) => this.pool.connectorFor(identity.index, attempt),
          targetOf: (attempt) => this.pool.targetIndex(identity.index, attempt),
          listener,
          backoff: options.backoff ?? { initialMs: 250, maxMs: 10_000 },
          handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
          heartbeats: options.heartbeats ?? true,
          validations: this.validations,
          maxUnackedReports: options.maxUnackedReports ?? DEFAULT_MAX_UNACKED_REPORTS,
        }),
    );
  }

  /** Enrolls `count` new hosts and returns the (not yet started) fleet. */
  static async enroll(options: FleetOptions, enroll: EnrollOptions): Promise<Fleet> {
    const pool = new ChannelPool(options.target, options.agentsPerChannel ?? DEFAULT_AGENTS_PER_CHANNEL);
    try {
      const identities = await enrollFleet({ pool, ...enroll });
      return new Fleet(options, identities, pool);
    } catch (error) {
      pool.close();
      throw error;
    }
  }

  get identities(): AgentIdentity[] {
    return this.agents.map((a) => a.identity);
  }

  /** Agents welcomed on a live stream right now. */
  get onlineCount(): number {
    return this.online;
  }

  /** Opens every agent's stream (all at once, as a fleet does after a controller restart). */
  start(): void {
    for (const agent of this.agents) agent.start();
  }

  /** Resolves when every agent has been welcomed; rejects after `timeoutMs` saying how many were. */
  waitConnected(timeoutMs = 60_000): Promise<void> {
    return this.waitUntil(() => this.online === this.agents.length, timeoutMs, () => `${this.online}/${this.agents.length} agents connected`);
  }

  /** Resolves when every agent has acked `version` of a rule set as applied. */
  waitApplied(version: number, timeoutMs = 60_000): Promise<void> {
    const count = () => this.agents.filter((a) => a.applied?.version === version).length;
    return this.waitUntil(() => count() === this.agents.length, timeoutMs, () => `${count()}/${this.agents.length} agents applied v${version}`);
  }

  /**
   * Every agent ends a reporting period every `intervalMs`, spread evenly over the interval
   * (one timer for the whole fleet, not one per agent).
   */
  startActivity(intervalMs: number): void {
    this.stopActivity();
    const slots = Math.max(1, Math.round(intervalMs / WHEEL_SLOT_MS));
    const started = Date.now();
    let done = 0;
    this.wheel = setInterval(() => {
      const now = Date.now();
      const due = Math.floor((now - started) / WHEEL_SLOT_MS);
      for (; done < due; done++) {
        for (let i = done % slots; i < this.agents.length; i += slots) this.agents[i].tick(now);
      }
    }, WHEEL_SLOT_MS);
  }

  stopActivity(): void {
    clearInterval(this.wheel);
    this.wheel = undefined;
  }

  /** After stopActivity: waits until the controller has stored everything the agents reported. */
  drainActivity(timeoutMs = 60_000): Promise<void> {
    const owing = () => this.agents.filter((a) => a.activityOwed > 0).length;
    return this.waitUntil(() => owing() === 0, timeoutMs, () => `${owing()} agents still owe activity`);
  }

  /** How many agents are welcomed on each target right now (index as in `options.target`). */
  onlinePerTarget(): number[] {
    const counts = this.pool.targets.map(() => 0);
    for (const agent of this.agents) if (agent.connected) counts[agent.targetIndex]++;
    return counts;
  }

  /**
   * Why streams dropped, for reports: welcomed streams that ended, then streams that never got
   * their Welcome, each with every reason (gRPC status: details) and its count, most frequent first.
   */
  disconnectSummary(): string {
    const reasons = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n}× ${r}`).join('; ');
    let summary = this.disconnects === 0 ? '0' : `${this.disconnects} (${reasons(this.disconnectReasons)})`;
    if (this.failedHandshakes > 0) summary += `; before Welcome ${this.failedHandshakes} (${reasons(this.handshakeFailureReasons)})`;
    return summary;
  }

  /** Sums of everything the agents' simulated data planes counted. */
  recordedTotals(): CounterTotals {
    const sum = zeroTotals();
    for (const agent of this.agents) addTotals(sum, agent.recorded);
    return sum;
  }

  /** Sums of stored activity over the whole fleet. */
  storedTotals(): CounterTotals {
    const sum = zeroTotals();
    for (const agent of this.agents) {
      const t = agent.storedTotals;
      addTotals(sum, { packetsIn: t[0]!, bytesIn: t[1]!, packetsOut: t[2]!, bytesOut: t[3]!, conversations: t[4]! });
    }
    return sum;
  }

  /** Stored activity per agent id, then per rule id (agents with nothing stored left out). */
  get stored(): Map<string, Map<string, CounterTotals>> {
    const out = new Map<string, Map<string, CounterTotals>>();
    for (const agent of this.agents) {
      const rules = agent.storedByRule();
      if (rules.size > 0) out.set(agent.identity.agentId, rules);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopActivity();
    for (const agent of this.agents) agent.stop();
    // Let the cancellations reach the server before the sockets go.
    await new Promise((r) => setTimeout(r, 50));
    this.pool.close();
  }

  private listener(): AgentListener {
    return {
      connected: (agent) => {
        this.online++;
        this.emit('connected', agent);
      },
      disconnected: (agent, reason) => {
        this.online--;
        this.disconnects++;
        this.disconnectReasons.set(reason, (this.disconnectReasons.get(reason) ?? 0) + 1);
        this.emit('disconnected', agent, reason);
      },
      failedBeforeWelcome: (_agent, reason) => {
        this.failedHandshakes++;
        this.handshakeFailureReasons.set(reason, (this.handshakeFailureReasons.get(reason) ?? 0) + 1);
      },
      applied: (agent, push: ApplyRuleSet, ok, atMs, receivedAtMs) => {
        const record: ApplyRecord = { pushId: push.pushId, version: push.ruleSet?.version ?? 0, ok, atMs, receivedAtMs };
        this.applies.set(agent.identity.agentId, record);
        this.emit('applied', agent, record);
      },
      activityStored: (agent, sent, atMs) => {
        this.storedReports++;
        this.storedSamples += sent.samples;
        this.lagsMs.push(atMs - sent.periodEndMs);
        this.emit('activityStored', agent, sent, atMs);
      },
    };
  }

  private waitUntil(done: () => boolean, timeoutMs: number, state: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        if (done()) return resolve();
        if (Date.now() > deadline) return reject(new Error(`fleet: timed out after ${timeoutMs} ms: ${state()}`));
        setTimeout(check, 20);
      };
      check();
    });
  }
}

function zeroTotals(): CounterTotals {
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, conversations: 0 };
}

function addTotals(sum: CounterTotals, t: CounterTotals): void {
  sum.packetsIn += t.packetsIn;
  sum.bytesIn += t.bytesIn;
  sum.packetsOut += t.packetsOut;
  sum.bytesOut += t.bytesOut;
  sum.conversations += t.conversations;
}
