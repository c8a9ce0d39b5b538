import { Inject, Injectable } from '@nestjs/common';
import { ruleSetVersionToWire, type FieldError } from '@portfleet/proto';
import type { Logger } from 'pino';
import { AgentStreams } from '../agents/agent-streams';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { isUuid } from '../errors/request-fields';
import { EventBus } from '../events/event-bus';
import type { Agent, Prisma } from '../generated/prisma/client';
import { LicensingService } from '../licensing/licensing.service';
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
   * Sends the push's version on the agent's live stream; marks the target delivered if it went out.
   * `resend` sends a finished target's version again (an agent that lost what it had applied).
   */
  async deliver(pushId: string, agentId: string, resend = false): Promise<boolean> {
    if (!this.streams.isOnline(agentId)) return false;
    const target = await this.db.pushTarget.findUnique({ where: { pushId_agentId: { pushId, agentId } }, include: { push: true, agent: true } });
    const sendable = resend ? ['pending', 'delivered', 'applied', 'failed'] : ['pending', 'delivered'];
    if (!target || !sendable.includes(target.state)) return false;
    const version = await this.ruleSets.versionModel(target.push.ruleSetId, target.push.version);
    const edition = await this.licensing.agentEdition(target.agent);
    // The license may have changed since the push was made: never send what the seat does not allow.
    const refused = agentEditionErrors(target.agent, edition, version.rules);
    if (edition === null || refused.length > 0) {
      await this.finish(pushId, agentId, false, refused);
      return false;
    }
    const capabilities = await this.licensing.snapshot(agentId, edition);
    if (!this.streams.send(agentId, { body: { $case: 'apply', value: { pushId, ruleSet: ruleSetVersionToWire(version), capabilities } } })) return false;
    await this.db.pushTarget.updateMany({ where: { pushId, agentId, state: { in: ['pending', 'delivered'] } }, data: { state: 'delivered', deliveredAt: new Date() } });
    this.logger.info({ pushId, agentId, version: version.version }, 'rule set delivered');
    await this.publish(pushId, agentId);
    return true;
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
      return (await this.deliver(unfinished.pushId, agent.id)) ? unfinished.pushId : undefined;
    }
    if (!agent.desiredRuleSetId || agent.desiredVersion === null) return undefined;
    if (runs(await this.ruleSets.versionModel(agent.desiredRuleSetId, agent.desiredVersion))) return undefined;
    const last = await this.db.pushTarget.findFirst({
      where: { agentId: agent.id, state: { in: ['applied', 'failed'] }, push: { ruleSetId: agent.desiredRuleSetId, version: agent.desiredVersion } },
      orderBy: { push: { createdAt: 'desc' } },
    });
    return last && (await this.deliver(last.pushId, agent.id, true)) ? last.pushId : undefined;
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
        const push = await tx.push.findUnique({ where: { id: pushId }, include: { targets: { select: { state: true, wave: true } } } });
        if (!push || push.status !== 'running') return null;
        let step = rolloutStep(push.targets, push.waves.length, push.currentWave, push.maxFailurePercent);
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
      for (const { agentId } of released) {
        await this.publish(pushId, agentId);
        await this.deliver(pushId, agentId);
      }
    }
    await this.publish(pushId);
  }

  /** Publishes a push event (one target's state, the push's status and counts). */
  async publish(pushId: string, agentId?: string): Promise<void> {
    const push = await this.db.push.findUnique({ where: { id: pushId }, include: { targets: { select: { agentId: true, state: true } } } });
    if (!push) return;
    const state = agentId ? push.targets.find((t) => t.agentId === agentId)?.state : undefined;
    this.bus.publish('push', { pushId, agentId: agentId ?? null, state: state ?? null, status: push.status, counts: countStates(push.targets) });
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
