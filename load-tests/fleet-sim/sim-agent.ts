import * as grpc from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from '@portfleet/agent';
import type { AgentMessage, ApplyRuleSet, ControllerMessage } from '@portfleet/proto/gen/agent';
import { ActivityLedger, type SentReport } from './activity-ledger';
import type { ConnectCall } from './connect-channel';
import { simulatedInventory } from './inventory';
import type { RuleSetValidations } from './rule-set-validations';

/** What enrollment gave one simulated host. */
export interface AgentIdentity {
  index: number;
  agentId: string;
  credential: string;
  hostname: string;
}

export interface AppliedRuleSet {
  ruleSetId: string;
  version: number;
  contentHash: string;
  /** Rules with activity monitoring on: the ones that produce samples. */
  monitoredRuleIds: string[];
}

/** What the fleet hears from its agents (the simulator's instruments). */
export interface AgentListener {
  connected(agent: SimAgent): void;
  disconnected(agent: SimAgent, reason: string): void;
  /** A stream ended before its Welcome (refused, timed out, unreachable). */
  failedBeforeWelcome(agent: SimAgent, reason: string): void;
  /** After the Ack went out (`receivedAtMs`: when the ApplyRuleSet arrived). */
  applied(agent: SimAgent, push: ApplyRuleSet, ok: boolean, atMs: number, receivedAtMs: number): void;
  /** A report the controller has made durable (acked, or covered by a Welcome's stored seq). */
  activityStored(agent: SimAgent, sent: SentReport, atMs: number): void;
}

export interface SimAgentOptions {
  identity: AgentIdentity;
  /** Where connection attempt k opens its Connect stream: with several controller replicas, each lost stream moves on to the next. */
  client: (attempt: number) => { connect(authorization: string): ConnectCall };
  /** Which target (replica) attempt k dials, for the fleet's counts. */
  targetOf?: (attempt: number) => number;
  listener: AgentListener;
  backoff: BackoffOptions;
  /** A stream not welcomed within this time is abandoned and retried. */
  handshakeTimeoutMs: number;
  /** Send the heartbeats the controller asks for in its Welcome (a real agent does). */
  heartbeats: boolean;
  /** Shared by the fleet: each distinct pushed version is validated once, each push's ack encoded once. */
  validations: RuleSetValidations;
  /**
   * At most this many reports in flight (sent, not yet acked). When the controller falls behind,
   * periods run on (their traffic still counted, into the next report) instead of piling up reports.
   */
  maxUnackedReports: number;
}

/**
 * One simulated agent on a shared channel: Hello with its inventory and what it runs, validates
 * and acks every ApplyRuleSet (content hash recomputed, as the real agent does), reports activity
 * on the rules it runs with seqs the controller can deduplicate, and reconnects with backoff.
 */
export class SimAgent {
  applied: AppliedRuleSet | null = null;
  private call: ConnectCall | undefined;
  private welcomed = false;
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly ledger = new ActivityLedger(Date.now());
  private ticks = 0;
  /** A period ended while too many reports waited for acks: its report goes out at the next ack. */
  private heldBack = false;
  /** Streams opened so far (reconnects included); stream k is dialled with `client(k)`. */
  connects = 0;
  /** Index of the target the current (or last) stream was dialled to. */
  targetIndex = 0;
  /** Everything this agent's simulated data plane counted, reported or not. */
  readonly recorded = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, conversations: 0 };

  constructor(private readonly options: SimAgentOptions) {
    this.backoff = new Backoff(options.backoff);
  }

  get identity(): AgentIdentity {
    return this.options.identity;
  }

  get connected(): boolean {
    return this.welcomed;
  }

  /** Periods whose report was held back because `maxUnackedReports` were in flight (their traffic went into a later report). */
  heldBackPeriods = 0;

  /** Reports sent and not yet acked. */
  get unackedReports(): number {
    return this.ledger.unacked;
  }

  /** Reports sent or traffic recorded that the controller has not stored yet. */
  get activityOwed(): number {
    return this.ledger.owed;
  }

  start(): void {
    this.stopped = false;
    if (!this.call && !this.retry) this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.close('stopped');
  }

  /**
   * One reporting period: traffic on every monitored rule, then a report if the stream is up
   * (otherwise the period runs on and the next report covers it).
   */
  tick(nowMs: number): void {
    const rules = this.applied?.monitoredRuleIds;
    if (!rules || rules.length === 0) return;
    const slots = this.ledger.slots(rules);
    const base = 1 + ((this.options.identity.index + this.ticks++) % 10);
    const n = rules.length;
    for (let k = 0; k < n; k++) {
      const packets = base + k;
      this.ledger.record(slots[k]!, packets, packets * 120, packets, packets * 80, 1, 1, nowMs);
    }
    // Σ (base + k) over the rules, and the same per byte and conversation counter.
    const packets = n * base + (n * (n - 1)) / 2;
    this.recorded.packetsIn += packets;
    this.recorded.bytesIn += packets * 120;
    this.recorded.packetsOut += packets;
    this.recorded.bytesOut += packets * 80;
    this.recorded.conversations += n;
    if (this.welcomed) this.sendOwed(nowMs);
  }

  /** What the controller has stored of this agent's activity, per rule id. */
  storedByRule() {
    return this.ledger.storedByRule();
  }

  /** Sums of what the controller has stored of this agent's activity (packetsIn, bytesIn, packetsOut, bytesOut, conversations). */
  get storedTotals(): Float64Array {
    return this.ledger.storedTotals;
  }

  /** Cuts and sends a report of what was counted, unless too many reports still wait for their ack. */
  private sendOwed(nowMs: number): void {
    this.heldBack = this.ledger.unacked >= this.options.maxUnackedReports;
    if (this.heldBack) {
      this.heldBackPeriods++;
      return;
    }
    const report = this.ledger.cut(nowMs);
    if (report) this.sendEncoded(report.frame);
  }

  private open(): void {
    const { identity } = this.options;
    const call = this.options.client(this.connects).connect(`Bearer ${identity.agentId}.${identity.credential}`);
    this.targetIndex = this.options.targetOf?.(this.connects) ?? 0;
    this.call = call;
    this.connects++;
    const handshake = setTimeout(() => this.close('no Welcome in time', call), this.options.handshakeTimeoutMs);

    call.on('data', (message: ControllerMessage) => {
      const body = message.body;
      switch (body?.$case) {
        case 'welcome':
          clearTimeout(handshake);
          this.onWelcome(body.value.heartbeatIntervalMs, body.value.activitySeqStored);
          return;
        case 'apply':
          this.onApply(body.value);
          return;
        case 'activityAck': {
          const sent = this.ledger.acked(body.value.seq);
          if (sent) this.options.listener.activityStored(this, sent, Date.now());
          if (this.heldBack) this.sendOwed(Date.now());
          return;
        }
        default:
          return; // heartbeat answers need nothing
      }
    });
    const ended = (reason: string) => {
      clearTimeout(handshake);
      this.close(reason, call);
    };
    call.on('error', (error) => ended(`${grpc.status[error.code] ?? error.code}: ${error.details}`));
    call.on('end', () => ended('the controller ended the stream'));

    const applied = this.applied;
    call.write({
      body: {
        $case: 'hello',
        value: {
          ...simulatedInventory(identity.index, identity.hostname),
          appliedRuleSetId: applied?.ruleSetId ?? '',
          appliedVersion: applied?.version ?? 0,
          appliedContentHash: applied?.contentHash ?? '',
        },
      },
    });
  }

  private onWelcome(heartbeatIntervalMs: number, seqStored: number): void {
    this.welcomed = true;
    this.backoff.reset();
    const now = Date.now();
    const { stored, resend } = this.ledger.welcomed(seqStored);
    for (const sent of stored) this.options.listener.activityStored(this, sent, now);
    for (const report of resend) this.sendEncoded(report.frame);
    // Traffic recorded while the stream was down goes out now.
    this.sendOwed(now);
    if (this.options.heartbeats && heartbeatIntervalMs > 0) {
      this.heartbeat = setInterval(() => this.send({ body: { $case: 'heartbeat', value: { sentAtMs: Date.now() } } }), heartbeatIntervalMs);
    }
    this.options.listener.connected(this);
  }

  private onApply(push: ApplyRuleSet): void {
    const receivedAtMs = Date.now();
    const { verdict, frame } = this.options.validations.answer(push.pushId, push.ruleSet);
    if (verdict.ok) this.applied = verdict.applied;
    this.sendEncoded(frame);
    this.options.listener.applied(this, push, verdict.ok, Date.now(), receivedAtMs);
  }

  private send(message: AgentMessage): void {
    if (this.call && this.welcomed) this.call.write(message);
  }

  /** An AgentMessage encoded already as a gRPC message (sent as is). */
  private sendEncoded(frame: Buffer): void {
    if (this.call && this.welcomed) this.call.writeFrame(frame);
  }

  /** Ends the current stream (if `call` is still it) and, unless stopped, schedules a reconnect. */
  private close(reason: string, call = this.call): void {
    if (!call || call !== this.call) return;
    this.call = undefined;
    clearInterval(this.heartbeat);
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    call.cancel();
    if (wasWelcomed) this.options.listener.disconnected(this, reason);
    else if (!this.stopped) this.options.listener.failedBeforeWelcome(this, reason);
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) this.open();
    }, Math.round(this.backoff.next()));
  }
}
