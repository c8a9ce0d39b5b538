import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ruleSetVersionToWire, type RuleSetVersion } from '@portfleet/proto';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Admission } from '../agents/admission';
import { agentRowsInIdOrder } from '../agents/agent-row-order';
import { AgentStreams } from '../agents/agent-streams';
import { ClusterBus } from '../cluster/cluster-bus';
import { LOGGER } from '../core.module';
import { uuidArray } from '../db/array-params';
import { retryTransientConflict } from '../db/transient-conflict';
import { PrismaService } from '../db/prisma.service';
import { EventBus } from '../events/event-bus';
import { Prisma, type Agent, type Push, type PushTargetState } from '../generated/prisma/client';
import { LicensingService, seatEdition } from '../licensing/licensing.service';
import { MetricsService } from '../metrics/metrics.service';
import { RuleSetsService } from '../rulesets/rulesets.service';
import { AckBatcher, type AckInput } from './ack-batcher';
import { ApplyMessages } from './apply-messages';
import { CapabilitySnapshots } from './capability-snapshots';
import { CATCH_UP_BATCH_SIZE, CatchUpBatcher } from './catch-up-batcher';
import { planCatchUps } from './catch-up-plan';
import { editionCheck } from './push-edition';
import { PushEvents } from './push-events';
import { pushTransaction, SMALL_TRANSACTION } from './push-transaction';
import { recordOutcomes, type FinishedTarget, type TargetOutcome } from './push-outcomes';
import { PushError } from './pushes.errors';
import { rolloutStep } from './rollout';

export type { AckInput } from './ack-batcher';

/** An agent a push goes to, as delivery needs it. */
export type DeliveryAgent = Pick<Agent, 'id' | 'name' | 'edition'>;

/**
 * What the transaction that made (or released) a push already holds: its pending targets' agents
 * and the version. Delivery then starts sending at once instead of reading 10,000 targets back.
 */
export interface CommittedTargets {
  push: Push;
  version: RuleSetVersion;
  agents: readonly DeliveryAgent[];
}

/** Sends go out in chunks of this many, yielding to the event loop in between (acks, heartbeats). */
export const SEND_CHUNK = 500;
/** A push's rollout is re-judged at most once per this window after its targets change. */
const SETTLE_MS = 50;
/**
 * Hellos whose catch-up is taken into a batch at once: enough for full batches (a smaller bound
 * left every batch waiting out its timer: 10,000 reconnects took ~20 s to catch up). The rest
 * wait in line, and are dropped when their stream goes before their turn.
 */
const CATCH_UPS_ADMITTED = 2 * CATCH_UP_BATCH_SIZE;
/** ClusterBus channel: `{from, pushId}`, "send this push's pending targets to your agents". */
const DELIVER_CHANNEL = 'push_deliver';

/**
 * The moving parts of a push: sending a version (with the agent's signed capability snapshot) on
 * the live streams, taking the agents' answers, and moving a staged rollout on.
 */
@Injectable()
export class PushDelivery implements OnModuleInit {
  /** This replica on the cluster bus (its own messages come back to it and are skipped). */
  private readonly replica = randomUUID();
  /** Pushes whose rollout is to be re-judged: scheduled, or running with another run due. */
  private readonly settling = new Map<string, 'scheduled' | 'running' | 'again'>();
  private readonly catchUps = new CatchUpBatcher(
    (agents) => this.catchUpBatch(agents),
    (err, agents) => {
      this.logger.warn({ err, agents }, 'catch-up batch failed; its streams end with UNAVAILABLE');
      return PushError.catchUpFailed();
    },
  );
  private readonly catchUpAdmission = new Admission(CATCH_UPS_ADMITTED);
  /**
   * Agents with a catch-up queued → pushes sent to them since their Hello (on the new stream):
   * the catch-up does not send those again.
   */
  private readonly sentSinceHello = new Map<string, Set<string>>();

  constructor(
    private readonly db: PrismaService,
    private readonly ruleSets: RuleSetsService,
    private readonly streams: AgentStreams,
    private readonly licensing: LicensingService,
    private readonly snapshots: CapabilitySnapshots,
    private readonly acks: AckBatcher,
    private readonly events: PushEvents,
    private readonly bus: EventBus,
    private readonly cluster: ClusterBus,
    private readonly metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.cluster.subscribe(DELIVER_CHANNEL, (payload) => {
      const { from, pushId } = JSON.parse(payload) as { from: string; pushId: string };
      if (from !== this.replica) this.deliver(pushId).catch((err: unknown) => this.logger.warn({ err, pushId }, 'could not deliver a push another replica made'));
    });
    // Messages sent while the listener was down are lost: send what is pending for our agents.
    this.cluster.onReconnect(() => void this.deliverPendingHere().catch((err: unknown) => this.logger.warn({ err }, 'could not catch up on pending pushes')));
  }

  /**
   * Sends the push's pending targets to their agents, wherever they are connected: here directly,
   * on the other replicas through the cluster bus (each sends to the agents connected to it).
   * Call once the targets are committed (`committed`: what that transaction wrote, if at hand).
   */
  async dispatch(pushId: string, committed?: CommittedTargets): Promise<void> {
    const announced = this.cluster.publish(DELIVER_CHANNEL, JSON.stringify({ from: this.replica, pushId })).catch((err: unknown) => {
      // The push stays pending: agents on other replicas get it with their next Hello.
      this.logger.warn({ err, pushId }, 'could not announce the push to the other replicas');
    });
    await Promise.all([announced, this.deliver(pushId, undefined, { committed })]);
  }

  /**
   * Sends the push's version to the targets whose agents are online here, one signed capability
   * snapshot each, and marks them delivered. Without `agentIds`: every pending target; with them:
   * those agents' pending or delivered targets (`resend`: finished ones too, for an agent that lost
   * what it had applied; `catchUp`: not to agents already sent it since their Hello; `committed`:
   * the pending targets as just committed, not read back). The push, version, license and edition
   * check are loaded once; sends go out in chunks with one UPDATE each. Returns the agents it went out to.
   */
  async deliver(pushId: string, agentIds?: readonly string[], options: { resend?: boolean; catchUp?: boolean; committed?: CommittedTargets } = {}): Promise<string[]> {
    const started = Date.now();
    const online = agentIds?.filter((id) => this.streams.isOnline(id));
    if (online?.length === 0) return [];
    const { committed } = options;
    const [push, rows] = committed && !online ? [committed.push, committed.agents] : await this.sendableTargets(pushId, online, options.resend);
    if (!push) return [];
    const targets = rows.filter((a) => this.streams.isOnline(a.id));
    if (targets.length === 0) return [];
    const [version, license] = await Promise.all([committed?.version ?? this.ruleSets.versionModel(push.ruleSetId, push.version), this.licensing.state()]);
    const applies = new ApplyMessages(pushId, ruleSetVersionToWire(version));
    const refusals = editionCheck(version.rules);
    const refused: TargetOutcome[] = [];
    const sent: string[] = [];
    // One chunk's mark at a time (one pooled connection; acks need the others).
    let marked: Promise<unknown> = Promise.resolve();
    for (let first = 0; first < targets.length; first += SEND_CHUNK) {
      if (first > 0) await nextTurn();
      const chunk: string[] = [];
      for (const agent of targets.slice(first, first + SEND_CHUNK)) {
        const edition = seatEdition(license, agent);
        // The license may have changed since the push was made: never send what the seat does not allow.
        const errors = refusals(agent, edition);
        if (edition === null || errors.length > 0) {
          refused.push({ pushId, agentId: agent.id, applied: false, errors });
          continue;
        }
        const since = this.sentSinceHello.get(agent.id);
        if (options.catchUp && since?.has(pushId)) continue;
        if (this.streams.send(agent.id, applies.for(this.snapshots.encoded(license, agent.id, edition)))) {
          chunk.push(agent.id);
          since?.add(pushId);
        }
      }
      sent.push(...chunk);
      // Not awaited before the next chunk: sending does not depend on it, and acks may already be back.
      if (chunk.length > 0) marked = marked.then(() => this.markDelivered(pushId, chunk));
    }
    const sentMs = Date.now() - started;
    await marked;
    if (refused.length > 0) this.settled(await this.recordOutcomes(refused));
    if (sent.length > 0) {
      // One line per push; a single agent catching up on its Hello is a debug detail.
      const level = online ? 'debug' : 'info';
      this.logger[level]({ pushId, agents: sent.length, refused: refused.length, version: version.version, sentMs, ms: Date.now() - started }, 'rule set delivered');
      this.events.changed(pushId, sent.length === 1 ? { agentId: sent[0]!, state: 'delivered' } : undefined);
    }
    return sent;
  }

  /**
   * The push and its targets to send (without `online`: every pending one; with: those agents'
   * pending or delivered ones, `resend`: finished ones too), in one join with array parameters.
   */
  private sendableTargets(pushId: string, online: readonly string[] | undefined, resend = false): Promise<[Push | null, DeliveryAgent[]]> {
    const sendable: PushTargetState[] = !online ? ['pending'] : resend ? ['pending', 'delivered', 'applied', 'failed'] : ['pending', 'delivered'];
    return Promise.all([
      this.db.push.findUnique({ where: { id: pushId } }),
      this.db.$queryRaw<DeliveryAgent[]>`
        SELECT a.id, a.name, a.edition FROM push_targets t JOIN agents a ON a.id = t.agent_id
         WHERE t.push_id = ${pushId}::uuid AND t.state = ANY(${sendable}::"PushTargetState"[])${online ? Prisma.sql` AND t.agent_id = ANY(${online}::uuid[])` : Prisma.empty}`,
    ]);
  }

  /**
   * Outcomes that are not acks (refused by the edition check, settled by a Hello). An ack batch
   * finishing some of the same targets takes them in another order: the one PostgreSQL picks as
   * a deadlock's victim is written again.
   */
  private recordOutcomes(outcomes: readonly TargetOutcome[]): Promise<FinishedTarget[]> {
    return retryTransientConflict(
      () => recordOutcomes(this.db, outcomes),
      ({ sqlState, attempt, waitMs }) => this.logger.warn({ sqlState, attempt, waitMs, outcomes: outcomes.length }, 'push outcomes lost a lock race; writing them again'),
    );
  }

  /**
   * The targets still pending or delivered (an ack may have finished them already). Rows an ack
   * batch holds are skipped, never waited for: acks of the chunk come back while its mark is
   * written, and the two statements took the same rows in different orders (PostgreSQL saw a
   * deadlock and failed the push call). A skipped row is being finished by its ack; if that ack
   * batch fails, the target stays pending, which a catch-up resends just as a delivered one.
   */
  private async markDelivered(pushId: string, agentIds: readonly string[]): Promise<void> {
    await this.db.$executeRaw`
      UPDATE push_targets SET state = 'delivered', delivered_at = now(), updated_at = now()
       WHERE push_id = ${pushId}::uuid AND agent_id IN (
         SELECT agent_id FROM push_targets
          WHERE push_id = ${pushId}::uuid AND agent_id = ANY(${uuidArray(agentIds)}::uuid[]) AND state IN ('pending', 'delivered')
          FOR NO KEY UPDATE SKIP LOCKED)`;
  }

  /**
   * On Hello: send the agent's newest unfinished push (or settle it as applied when the Hello
   * reports that version); or, when what it runs differs from its desired version, resend the
   * newest push of that version. Hellos arriving together are caught up in one batch
   * (catch-up-plan.ts); resolves once the agent's batch is done, with the push id sent, if any
   * (undefined without running when the stream was `abandoned` before its turn). A push sent to
   * the agent from now on is not sent again by its catch-up.
   */
  catchUp(agent: Agent, abandoned: () => boolean = () => false): Promise<string | undefined> {
    const since = new Set<string>();
    this.sentSinceHello.set(agent.id, since);
    return this.catchUpAdmission.run(abandoned, () => this.catchUps.take(agent)).finally(() => {
      if (this.sentSinceHello.get(agent.id) === since) this.sentSinceHello.delete(agent.id);
    });
  }

  /** One query for the batch's candidate pushes, one outcome write, one `deliver` per push. */
  private async catchUpBatch(agents: readonly Agent[]): Promise<Map<string, string>> {
    const started = Date.now();
    const plan = await planCatchUps(this.db, this.ruleSets, agents);
    if (plan.applied.length > 0) this.settled(await this.recordOutcomes(plan.applied));
    const sentTo = new Map<string, string>();
    const sends = [...[...plan.send].map(([pushId, ids]) => ({ pushId, ids, resend: false })), ...[...plan.resend].map(([pushId, ids]) => ({ pushId, ids, resend: true }))];
    await Promise.all(
      sends.map(async ({ pushId, ids, resend }) => {
        for (const id of await this.deliver(pushId, ids, { resend, catchUp: true })) sentTo.set(id, pushId);
      }),
    );
    this.logger.debug({ agents: agents.length, applied: plan.applied.length, sent: sentTo.size, pushes: sends.length, ms: Date.now() - started }, 'agents caught up');
    return sentTo;
  }

  /**
   * The agent's answer: the target becomes applied or failed; an applied version becomes the
   * agent's. Resolves once durable (batched with other agents' answers); rejects if not stored.
   */
  async ack(agentId: string, ack: AckInput): Promise<void> {
    const { finished, appliedVersion } = await this.acks.take(agentId, ack);
    if (appliedVersion) {
      this.bus.publish('agent', { agentId, online: true, lastSeenAt: new Date().toISOString(), appliedRuleSetId: ack.ruleSetId, appliedVersion: ack.version });
    }
    if (finished) this.settled([finished]);
  }

  /**
   * Moves a running push on: halt, release the next wave (and send it), or complete. `resumed`:
   * the operator resumed a halted rollout, so the wave that halted it releases the next one.
   */
  async advance(pushId: string, resumed = false): Promise<void> {
    let overrideHalt = resumed;
    for (;;) {
      if (await this.answersOutstanding(pushId)) break;
      const released = await pushTransaction(this.db, SMALL_TRANSACTION, async (tx) => {
        await tx.$queryRaw`SELECT id FROM pushes WHERE id = ${pushId}::uuid FOR UPDATE`;
        const push = await tx.push.findUnique({ where: { id: pushId } });
        if (!push || push.status !== 'running') return false;
        const groups = await tx.pushTarget.groupBy({ by: ['wave', 'state'], where: { pushId }, _count: { _all: true } });
        const counts = groups.map((g) => ({ wave: g.wave, state: g.state, count: g._count._all }));
        let step = rolloutStep(counts, push.waves.length, push.currentWave, push.maxFailurePercent);
        if (step === 'halt' && overrideHalt) step = push.currentWave < push.waves.length - 1 ? 'next' : 'complete';
        overrideHalt = false;
        if (step === 'wait') return false;
        if (step === 'halt' || step === 'complete') {
          await tx.push.update({ where: { id: pushId }, data: { status: step === 'halt' ? 'halted' : 'completed' } });
          return false;
        }
        const wave = push.currentWave + 1;
        await tx.push.update({ where: { id: pushId }, data: { currentWave: wave } });
        await tx.$executeRaw`
          WITH released AS (
            UPDATE push_targets SET state = 'pending', updated_at = now() WHERE push_id = ${pushId}::uuid AND wave = ${wave} AND state = 'waiting' RETURNING agent_id)
          UPDATE agents SET desired_rule_set_id = ${push.ruleSetId}::uuid, desired_version = ${push.version}
           WHERE id IN (${agentRowsInIdOrder(Prisma.sql`SELECT agent_id FROM released`)})`;
        return true;
      });
      if (!released) break;
      await this.dispatch(pushId);
    }
    this.events.changed(pushId);
  }

  /**
   * True while a target of the push's released waves awaits its answer: then `rolloutStep` can
   * only say `wait`, and one indexed probe stands for the locked transaction and the count of
   * every target (re-judged every 50 ms while 10,000 acks arrive). A row lock or a count would
   * not make this answer truer: an ack arriving right after is judged by its own settle.
   */
  private async answersOutstanding(pushId: string): Promise<boolean> {
    const rows = await this.db.$queryRaw<unknown[]>`
      SELECT 1 FROM pushes p JOIN push_targets t ON t.push_id = p.id
       WHERE p.id = ${pushId}::uuid AND p.status = 'running' AND t.wave <= p.current_wave AND t.state IN ('pending', 'delivered')
       LIMIT 1`;
    return rows.length > 0;
  }

  private async deliverPendingHere(): Promise<void> {
    const pending = await this.db.pushTarget.findMany({ where: { state: 'pending', agentId: { in: this.streams.onlineIds() } }, select: { pushId: true }, distinct: ['pushId'] });
    for (const { pushId } of pending) await this.deliver(pushId);
  }

  /** Targets finished: metrics, a (coalesced) event, and the rollout re-judged soon. */
  settled(finished: readonly FinishedTarget[]): void {
    const now = Date.now();
    for (const f of finished) {
      if (f.deliveredAt) this.metrics.pushLatency.observe({ result: f.state }, (now - f.deliveredAt.getTime()) / 1000);
      this.events.changed(f.pushId, { agentId: f.agentId, state: f.state });
      this.settle(f.pushId);
    }
  }

  /** Re-judges the push's rollout shortly, once for all the answers that arrive meanwhile. */
  private settle(pushId: string): void {
    const state = this.settling.get(pushId);
    if (state === 'running') this.settling.set(pushId, 'again');
    if (state) return;
    this.settling.set(pushId, 'scheduled');
    setTimeout(() => {
      this.settling.set(pushId, 'running');
      this.advance(pushId)
        .catch((err: unknown) => this.logger.warn({ err, pushId }, 'could not move the push on'))
        .finally(() => {
          const again = this.settling.get(pushId) === 'again';
          this.settling.delete(pushId);
          if (again) this.settle(pushId);
        });
    }, SETTLE_MS);
  }
}
