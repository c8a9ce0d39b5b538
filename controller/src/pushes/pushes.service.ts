import { Inject, Injectable } from '@nestjs/common';
import type { FieldError } from '@portfleet/proto';
import { agentRowsInIdOrder } from '../agents/agent-row-order';
import { heldByLive, ReplicaPresence } from '../agents/replica-presence';
import type { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import { LOGGER } from '../core.module';
import { intArray, uuidArray } from '../db/array-params';
import { PrismaService } from '../db/prisma.service';
import { fromFieldErrors } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import { Prisma, type Push, type PushTargetState } from '../generated/prisma/client';
import type { Logger } from 'pino';
import { LicensingService, seatEdition } from '../licensing/licensing.service';
import { LicenseError } from '../licensing/licensing.errors';
import { toPage, type Page, type PageRequest, type TimeIdKey } from '../paging/page';
import { diffRuleSets, type RuleSetDiff } from '../rulesets/rule-set-diff';
import { RuleSetsService, versionModelOf } from '../rulesets/rulesets.service';
import { PushDelivery } from './push-delivery';
import { agentEditionErrors, editionCheck } from './push-edition';
import { PushEvents } from './push-events';
import { PushReads } from './push-reads';
import { pushSummaryOf, pushTargetsPage, type PushTargetRow } from './push-targets-page';
import { selectPushAgents } from './push-agents-selection';
import { countsOfPushes } from './push-counts';
import { selectAgents, type SelectedAgent, type Selection } from './push-selection';
import { pushSummary, pushView, type PushSummary, type PushView, type TargetRow } from './push-view';
import { PushError } from './pushes.errors';
import { CREATE_TRANSACTION, pushTransaction, SMALL_TRANSACTION } from './push-transaction';
import { assignWaves, type Rollout } from './rollout';

export interface CreatePushInput extends Selection {
  ruleSetId: string;
  version?: number;
  rollout?: Rollout;
}

export interface DryRunAgent {
  agentId: string;
  name: string;
  online: boolean;
  edition: string | null;
  current: { ruleSetId: string; version: number } | null;
  diff: RuleSetDiff | null;
  errors: FieldError[];
}

export interface AgentPushEntry {
  pushId: string;
  ruleSetId: string;
  version: number;
  createdAt: string;
  createdBy: string;
  state: PushTargetState;
  errors: FieldError[];
  updatedAt: string;
}
type AgentPushRow = Omit<AgentPushEntry, 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date };

/**
 * Pushes of one rule-set version to agents (docs/http-api.md Pushes): editions checked per
 * target, older unfinished pushes to the same agents superseded, optional staged waves.
 */
@Injectable()
export class PushesService {
  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly ruleSets: RuleSetsService,
    private readonly licensing: LicensingService,
    private readonly replicas: ReplicaPresence,
    private readonly delivery: PushDelivery,
    private readonly events: PushEvents,
    private readonly reads: PushReads,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(actor: Actor, input: CreatePushInput): Promise<PushView> {
    return this.record(actor, input, () => selectAgents(this.reads.pool, input));
  }

  /**
   * Stores and sends a push to the agents `select` reads: a plain read beside the transaction
   * (inside, it would lock nothing either: READ COMMITTED), awaited where it was read before, so a
   * missing rule set or license is still reported first.
   */
  private async record(actor: Actor, input: Omit<CreatePushInput, keyof Selection>, select: () => Promise<SelectedAgent[]>, rollbackOf?: string): Promise<PushView> {
    const started = Date.now();
    const selected = select();
    selected.catch(() => undefined); // the transaction may fail before awaiting it
    // Legitimately long for thousands of targets: a few set-based statements, none per agent.
    const { pushId, targets, superseded, committed } = await pushTransaction(this.db, CREATE_TRANSACTION, async (tx) => {
        const version = await this.ruleSets.get(input.ruleSetId, input.version, tx);
        const license = await this.licensing.state(tx);
        if (!license.edition) throw LicenseError.required();
        const agents = await selected;
        const refusals = editionCheck(version.rules);
        const refused = agents.flatMap((agent) => refusals(agent, seatEdition(license, agent)));
        if (refused.length > 0) throw fromFieldErrors('edition', refused[0]!.code, refused);

        const ids = agents.map((a) => a.id);
        const idList = uuidArray(ids);
        const waves = input.rollout ? assignWaves(agents.length, input.rollout.waves) : agents.map(() => 0);
        const older = await tx.$queryRaw<{ push_id: string }[]>`
          WITH superseded AS (
            UPDATE push_targets SET state = 'superseded', finished_at = now(), updated_at = now()
             WHERE agent_id = ANY(${idList}::uuid[]) AND state IN ('waiting', 'pending', 'delivered') RETURNING push_id)
          SELECT DISTINCT push_id FROM superseded`;
        const created = await tx.push.create({
          data: {
            ruleSetId: version.id,
            version: version.version,
            createdBy: actor.label,
            waves: input.rollout?.waves ?? [],
            maxFailurePercent: input.rollout?.maxFailurePercent ?? 0,
            rollbackOf: rollbackOf ?? null,
          },
        });
        await tx.$executeRaw`
          INSERT INTO push_targets (push_id, agent_id, wave, state, updated_at)
          SELECT ${created.id}::uuid, t.agent_id, t.wave, (CASE WHEN t.wave = 0 THEN 'pending' ELSE 'waiting' END)::"PushTargetState", now()
            FROM unnest(${idList}::uuid[], ${intArray(waves)}::int[]) AS t(agent_id, wave)`;
        const released = ids.filter((_, i) => waves[i] === 0);
        await tx.$executeRaw`UPDATE agents SET desired_rule_set_id = ${version.id}::uuid, desired_version = ${version.version} WHERE id IN (${agentRowsInIdOrder(released)})`;
        await this.audit.record(tx, actor, {
          action: rollbackOf ? 'push.rollback' : 'push.create',
          target: `push:${created.id}`,
          after: { ruleSetId: version.id, version: version.version, agentIds: ids, rollout: input.rollout ?? null, rollbackOf: rollbackOf ?? null },
        });
        const committed = { push: created, version: versionModelOf(version), agents: agents.filter((_, i) => waves[i] === 0) };
        return { pushId: created.id, targets: ids.length, superseded: older.map((o) => o.push_id), committed };
    });
    this.logger.info({ pushId, targets, ms: Date.now() - started }, 'push recorded');
    for (const older of superseded) await this.delivery.advance(older);
    await this.delivery.dispatch(pushId, committed);
    this.events.changed(pushId);
    return this.get(pushId);
  }

  /** What the push would do on each target; nothing is stored or sent. */
  async dryRun(input: CreatePushInput): Promise<{ ruleSetId: string; version: number; agents: DryRunAgent[] }> {
    const target = await this.ruleSets.get(input.ruleSetId, input.version);
    const agents = await selectAgents(this.reads.pool, input);
    const liveReplicas = await this.replicas.live();
    const license = await this.licensing.state();
    const result: DryRunAgent[] = [];
    for (const agent of agents) {
      const edition = seatEdition(license, agent);
      const current = agent.appliedRuleSetId && agent.appliedVersion !== null ? { ruleSetId: agent.appliedRuleSetId, version: agent.appliedVersion } : null;
      const from = current?.ruleSetId === target.id ? await this.ruleSets.get(target.id, current.version).catch(() => null) : null;
      result.push({
        agentId: agent.id,
        name: agent.name,
        online: heldByLive(agent.connectedReplica, liveReplicas),
        edition,
        current,
        diff: diffRuleSets(target.id, from ?? { version: 0, rules: [], settings: null }, target),
        errors: agentEditionErrors(agent, edition, target.rules),
      });
    }
    return { ruleSetId: target.id, version: target.version, agents: result };
  }

  /** The push with its counts and no targets: bounded however many agents it targets. */
  summary(id: string): Promise<PushSummary> {
    return pushSummaryOf(this.db, id);
  }

  /** A keyset page of the push's targets with their agents' name, host and presence, by state if given. */
  targets(id: string, states: readonly PushTargetState[] | undefined, page: PageRequest<string>): Promise<Page<PushTargetRow>> {
    return pushTargetsPage(this.db, this.replicas.id, id, states, page);
  }

  async get(id: string): Promise<PushView> {
    const push = await this.pushRow(id);
    // uuid order is the order of the lowercase ids as text.
    const { rows: targets } = await this.reads.pool.query<TargetRow>(
      'SELECT agent_id, state::text AS state, wave, errors, updated_at FROM push_targets WHERE push_id = $1::uuid ORDER BY wave, agent_id',
      [id],
    );
    return pushView(push, targets);
  }

  async list(filter: { ruleSetId?: string }, page: PageRequest<TimeIdKey>): Promise<Page<PushSummary>> {
    const where: Prisma.PushWhereInput = {
      ...(filter.ruleSetId !== undefined && { ruleSetId: isUuid(filter.ruleSetId) ? filter.ruleSetId : '00000000-0000-0000-0000-000000000000' }),
      ...(page.after && { OR: [{ createdAt: { lt: new Date(page.after[0]) } }, { createdAt: new Date(page.after[0]), id: { lt: page.after[1] } }] }),
    };
    const rows = await this.db.push.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit + 1 });
    const counts = await countsOfPushes(this.reads.pool, rows.slice(0, page.limit).map((p) => p.id));
    // countsOfPushes seeds every id it is given, so each row of the page has its counts.
    return toPage(rows, page.limit, (p) => [p.createdAt.toISOString(), p.id] as TimeIdKey, (p) => pushSummary(p, counts.get(p.id)!));
  }

  /** One agent's push history, newest first. */
  async history(agentId: string, page: PageRequest<TimeIdKey>): Promise<Page<AgentPushEntry>> {
    const after = page.after ? Prisma.sql`AND (p.created_at, p.id) < (${page.after[0]}::timestamptz, ${page.after[1]}::uuid)` : Prisma.empty;
    const rows = await this.db.$queryRaw<AgentPushRow[]>`
      SELECT t.push_id::text AS "pushId", p.rule_set_id::text AS "ruleSetId", p.version, p.created_at AS "createdAt", p.created_by AS "createdBy",
             t.state::text AS state, t.errors, t.updated_at AS "updatedAt"
        FROM push_targets t JOIN pushes p ON p.id = t.push_id
       WHERE t.agent_id = ${agentId}::uuid ${after}
       ORDER BY p.created_at DESC, p.id DESC
       LIMIT ${page.limit + 1}`;
    return toPage(rows, page.limit, (t) => [t.createdAt.toISOString(), t.pushId] as TimeIdKey, (t) => ({
      ...t,
      createdAt: t.createdAt.toISOString(),
      updatedAt: t.updatedAt.toISOString(),
    }));
  }

  /** The push's row, without its targets (an action's checks need its status, not 10,000 rows). */
  private async pushRow(id: string): Promise<Push> {
    const push = isUuid(id) ? await this.db.push.findUnique({ where: { id } }) : null;
    if (!push) throw PushError.notFound(id);
    return push;
  }

  /** Failed targets become pending and are sent again. */
  async retry(actor: Actor, id: string): Promise<PushView> {
    const push = await this.pushRow(id);
    await pushTransaction(this.db, SMALL_TRANSACTION, async (tx) => {
      // The failed targets are found and reset by one statement (its index range of the push),
      // not read into memory and named back one id each.
      const retried = await tx.$queryRaw<{ agent_id: string }[]>`
        WITH retried AS (
          UPDATE push_targets SET state = 'pending', errors = '[]'::jsonb, finished_at = NULL, delivered_at = NULL, updated_at = now()
           WHERE push_id = ${id}::uuid AND state = 'failed' RETURNING agent_id, wave)
        SELECT agent_id::text AS agent_id FROM retried ORDER BY wave, agent_id`;
      if (retried.length === 0) throw PushError.nothingToRetry();
      const failed = retried.map((r) => r.agent_id);
      if (push.status === 'completed' || push.status === 'halted') await tx.push.update({ where: { id }, data: { status: 'running' } });
      await tx.$executeRaw`UPDATE agents SET desired_rule_set_id = ${push.ruleSetId}::uuid, desired_version = ${push.version} WHERE id IN (${agentRowsInIdOrder(failed)})`;
      await this.audit.record(tx, actor, { action: 'push.retry', target: `push:${id}`, after: { agentIds: failed } });
    });
    await this.delivery.dispatch(id);
    this.events.changed(id);
    return this.get(id);
  }

  /** A new push of the previous version (or `version`) to this push's targets. */
  async rollback(actor: Actor, id: string, version?: number): Promise<PushView> {
    const push = await this.pushRow(id);
    const to = version ?? push.version - 1;
    if (to < 1) throw PushError.noPreviousVersion();
    return this.record(actor, { ruleSetId: push.ruleSetId, version: to }, () => selectPushAgents(this.reads.pool, id), id);
  }

  async resume(actor: Actor, id: string): Promise<PushView> {
    const push = await this.pushRow(id);
    if (push.status !== 'halted') throw PushError.notHalted(push.status);
    await pushTransaction(this.db, SMALL_TRANSACTION, async (tx) => {
      await tx.push.update({ where: { id }, data: { status: 'running' } });
      await this.audit.record(tx, actor, { action: 'push.resume', target: `push:${id}`, before: { status: 'halted' }, after: { status: 'running' } });
    });
    await this.delivery.advance(id, true);
    return this.get(id);
  }

  async abort(actor: Actor, id: string): Promise<PushView> {
    const push = await this.pushRow(id);
    if (push.status === 'completed' || push.status === 'aborted') throw PushError.notRunning(push.status);
    await pushTransaction(this.db, SMALL_TRANSACTION, async (tx) => {
      await tx.pushTarget.updateMany({ where: { pushId: id, state: 'waiting' }, data: { state: 'cancelled', finishedAt: new Date() } });
      await tx.push.update({ where: { id }, data: { status: 'aborted' } });
      await this.audit.record(tx, actor, { action: 'push.abort', target: `push:${id}`, before: { status: push.status }, after: { status: 'aborted' } });
    });
    this.events.changed(id);
    return this.get(id);
  }
}
