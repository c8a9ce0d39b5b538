import { Inject, Injectable } from '@nestjs/common';
import { ruleSetVersionToWire, type FieldError } from '@portfleet/proto';
import type { Logger } from 'pino';
import { AgentStreams } from '../agents/agent-streams';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { isUuid } from '../errors/request-fields';
import { EventBus } from '../events/event-bus';
import type { Agent, Prisma, PushTargetState } from '../generated/prisma/client';
import { LicensingService, seatEdition } from '../licensing/licensing.service';
import { MetricsService } from '../metrics/metrics.service';
import { RuleSetsService } from '../rulesets/rulesets.service';
import { agentEditionErrors } from './push-edition';
import { countStates } from './push-view';
import { rolloutStep } from './rollout';

export interface AckInput {
  pushId: string;
  ruleSetId: string;
  version: number;
  contentHash: string;
  applied: boolean;
  errors: FieldError[];
}

/**
 * The moving parts of a push: sending a version (with the agent's signed capability snapshot) on
 * a live stream, taking the agent's answer, and moving a staged rollout on.
 */
@Injectable()
export class PushDelivery {
  constructor(
    private readonly db: PrismaService,
    private readonly ruleSets: RuleSetsService,
    private readonly streams: AgentStreams,
    private readonly licensing: LicensingService,
    private readonly bus: EventBus,
    private readonly metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Sends the push's version to those of `agentIds` that are online (one signed capability
   * snapshot each) and marks them delivered. Loads the push, version and license once, so a push
   * to thousands of agents costs a handful of queries. `resend` also sends finished targets again
   * (an agent that lost what it had applied). Returns the agents it went out to.
   */
  async deliver(pushId: string, agentIds: readonly string[], options: { resend?: boolean; publish?: boolean } = {}): Promise<string[]> {
    const online = agentIds.filter((id) => this.streams.isOnline(id));
    if (online.length === 0) return [];
    const push = await this.db.push.findUnique({ where: { id: pushId } });
    if (!push) return [];
    const sendable: PushTargetState[] = options.resend ? ['pending', 'delivered', 'applied', 'failed'] : ['pending', 'delivered'];
    const targets = await this.db.pushTarget.findMany({ where: { pushId, agentId: { in: online }, state: { in: sendable } }, include: { agent: true } });
    if (targets.length === 0) return [];
    const version = await this.ruleSets.versionModel(push.ruleSetId, push.version);
    const ruleSet = ruleSetVersionToWire(version);
    const license = await this.licensing.state();
    const sent: string[] = [];
    for (const { agent } of targets) {
      const edition = seatEdition(license, agent);
      // The license may have changed since the push was made: never send what the seat does not allow.
      const refused = agentEditionErrors(agent, edition, version.rules);
      if (edition === null || refused.length > 0) {
        await this.finish(pushId, agent.id, false, refused);
        continue;
      }
      const capabilities = this.licensing.snapshot(license, agent.id, edition);
      if (this.streams.send(agent.id, { body: { $case: 'apply', value: { pushId, ruleSet, capabilities } } })) sent.push(agent.id);
    }
    if (sent.length === 0) return [];
    await this.db.pushTarget.updateMany({ where: { pushId, agentId: { in: sent }, state: { in: ['pending', 'delivered'] } }, data: { state: 'delivered', deliveredAt: new Date() } });
    this.logger.info({ pushId, agents: sent.length, version: version.version }, 'rule set delivered');
    if (options.publish !== false) await this.publish(pushId, sent.length === 1 ? sent[0] : undefined);
    return sent;
  }

  /**
   * On Hello: send the agent's newest unfinished push; or, when what it runs differs from its
   * desired version, resend the newest push of that version. Returns the push id sent, if any.
   */
  async catchUp(agent: Agent): Promise<string | undefined> {
    const unfinished = await this.db.pushTarget.findFirst({
      where: { agentId: agent.id, state: { in: ['pending', 'delivered'] } },
      orderBy: { push: { createdAt: 'desc' } },
      include: { push: true },
    });
    const runs = (v: { ruleSetId: string; version: number; contentHash: string }) =>
      agent.appliedRuleSetId === v.ruleSetId && agent.appliedVersion === v.version && agent.appliedContentHash === v.contentHash;
    if (unfinished) {
      if (runs(await this.ruleSets.versionModel(unfinished.push.ruleSetId, unfinished.push.version))) {
        await this.finish(unfinished.pushId, agent.id, true, []);
        return undefined;
      }
      return (await this.deliver(unfinished.pushId, [agent.id])).length > 0 ? unfinished.pushId : undefined;
    }
    if (!agent.desiredRuleSetId || agent.desiredVersion === null) return undefined;
    if (runs(await this.ruleSets.versionModel(agent.desiredRuleSetId, agent.desiredVersion))) return undefined;
    const last = await this.db.pushTarget.findFirst({
      where: { agentId: agent.id, state: { in: ['applied', 'failed'] }, push: { ruleSetId: agent.desiredRuleSetId, version: agent.desiredVersion } },
      orderBy: { push: { createdAt: 'desc' } },
    });
    return last && (await this.deliver(last.pushId, [agent.id], { resend: true })).length > 0 ? last.pushId : undefined;
  }

  /** The agent's answer: the target becomes applied or failed; an applied version becomes the agent's. */
  async ack(agentId: string, ack: AckInput): Promise<void> {
    const knownSet = isUuid(ack.ruleSetId) && (await this.db.ruleSet.count({ where: { id: ack.ruleSetId } })) > 0;
    if (ack.applied && knownSet) {
      await this.db.agent.update({
        where: { id: agentId },
        data: { appliedRuleSetId: ack.ruleSetId, appliedVersion: ack.version, appliedContentHash: ack.contentHash, lastSeenAt: new Date() },
      });
      this.bus.publish('agent', { agentId, online: true, lastSeenAt: new Date().toISOString(), appliedRuleSetId: ack.ruleSetId, appliedVersion: ack.version });
    }
    if (isUuid(ack.pushId)) await this.finish(ack.pushId, agentId, ack.applied, ack.errors);
  }

  /**
   * Moves a running push on: halt, release the next wave (and send it), or complete. `resumed`:
   * the operator resumed a halted rollout, so the wave that halted it releases the next one.
   */
  async advance(pushId: string, resumed = false): Promise<void> {
    let overrideHalt = resumed;
    for (;;) {
      const released = await this.db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM pushes WHERE id = ${pushId}::uuid FOR UPDATE`;
        const push = await tx.push.findUnique({ where: { id: pushId } });
        if (!push || push.status !== 'running') return null;
        const groups = await tx.pushTarget.groupBy({ by: ['wave', 'state'], where: { pushId }, _count: { _all: true } });
        const counts = groups.map((g) => ({ wave: g.wave, state: g.state, count: g._count._all }));
        let step = rolloutStep(counts, push.waves.length, push.currentWave, push.maxFailurePercent);
        if (step === 'halt' && overrideHalt) step = push.currentWave < push.waves.length - 1 ? 'next' : 'complete';
        overrideHalt = false;
        if (step === 'wait') return null;
        if (step === 'halt' || step === 'complete') {
          await tx.push.update({ where: { id: pushId }, data: { status: step === 'halt' ? 'halted' : 'completed' } });
          return null;
        }
        const wave = push.currentWave + 1;
        await tx.push.update({ where: { id: pushId }, data: { currentWave: wave } });
        await tx.pushTarget.updateMany({ where: { pushId, wave, state: 'waiting' }, data: { state: 'pending' } });
        const next = await tx.pushTarget.findMany({ where: { pushId, wave, state: 'pending' }, select: { agentId: true } });
        await tx.agent.updateMany({ where: { id: { in: next.map((t) => t.agentId) } }, data: { desiredRuleSetId: push.ruleSetId, desiredVersion: push.version } });
        return next;
      });
      if (released === null) break;
      await this.deliver(pushId, released.map((t) => t.agentId), { publish: false });
    }
    await this.publish(pushId);
  }

  /** Publishes a push event (one target's state when given, the push's status and counts). */
  async publish(pushId: string, agentId?: string): Promise<void> {
    const push = await this.db.push.findUnique({ where: { id: pushId } });
    if (!push) return;
    const groups = await this.db.pushTarget.groupBy({ by: ['state'], where: { pushId }, _count: { _all: true } });
    const counts = countStates([]);
    for (const g of groups) counts[g.state] = g._count._all;
    const target = agentId ? await this.db.pushTarget.findUnique({ where: { pushId_agentId: { pushId, agentId } }, select: { state: true } }) : null;
    this.bus.publish('push', { pushId, agentId: agentId ?? null, state: target?.state ?? null, status: push.status, counts });
  }

  private async finish(pushId: string, agentId: string, applied: boolean, errors: FieldError[]): Promise<void> {
    const now = new Date();
    const target = await this.db.pushTarget.findUnique({ where: { pushId_agentId: { pushId, agentId } } });
    if (!target || (target.state !== 'pending' && target.state !== 'delivered')) return;
    const done = await this.db.pushTarget.updateMany({
      where: { pushId, agentId, state: { in: ['pending', 'delivered'] } },
      data: { state: applied ? 'applied' : 'failed', errors: errors as unknown as Prisma.InputJsonValue, finishedAt: now },
    });
    if (done.count === 0) return;
    if (target.deliveredAt) this.metrics.pushLatency.observe({ result: applied ? 'applied' : 'failed' }, (now.getTime() - target.deliveredAt.getTime()) / 1000);
    await this.publish(pushId, agentId);
    await this.advance(pushId);
  }
}
