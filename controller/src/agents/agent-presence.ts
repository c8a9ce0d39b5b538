import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { sameHash } from '../auth/secret-token';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { retryTransientConflict } from '../db/transient-conflict';
import { isUuid } from '../errors/request-fields';
import { EventBus } from '../events/event-bus';
import type { Agent, Prisma } from '../generated/prisma/client';
import { MetricsService } from '../metrics/metrics.service';
import { agentRowsInIdOrder } from './agent-row-order';
import { AgentStreams } from './agent-streams';
import type { AdapterView } from './agent-view';
import { AgentError } from './agents.errors';
import { Batcher } from './batcher';
import { ReplicaPresence } from './replica-presence';

export interface HelloInput {
  hostname: string;
  platform: string;
  version: string;
  adapters: AdapterView[];
  dataplane?: unknown;
  applied?: { ruleSetId: string; version: number; contentHash: string };
}

/** Online agents' last-seen lives in memory (online ⇒ now); it is written for all of them this often. */
export const ONLINE_LAST_SEEN_INTERVAL_MS = 60_000;
const BATCH = { maxItems: 500, maxDelayMs: 10 };

/** An agent's row as its stream opens, with the highest activity seq stored for it (what the Welcome tells it). */
export type ConnectingAgent = Agent & { activityWatermark: { seq: bigint } | null };

interface Applied {
  id: string;
  applied_rule_set_id: string | null;
  applied_version: number | null;
  applied_content_hash: string | null;
}

interface LastSeen {
  id: string;
  last_seen_at: Date;
  /** Another replica holds the agent's stream now (it moved there): it is not offline. */
  connected_replica: string | null;
  applied_rule_set_id: string | null;
  applied_version: number | null;
}

/**
 * The connect path at fleet scale: who is on the other end of a stream, what it reported on
 * connecting, and when it was last seen. Reads and writes of many agents connecting or leaving at
 * once are batched (one query per few hundred agents); heartbeats write nothing.
 */
@Injectable()
export class AgentPresence implements OnModuleInit, OnModuleDestroy {
  private readonly reads = this.batcher('reads', (ids: string[]) => this.readAgents(ids));
  private readonly hellos = this.batcher('hellos', (items: { agent: Agent; hello: HelloInput }[]) => this.retried('hellos', items.length, () => this.writeHellos(items)));
  private readonly leaves = this.batcher('leaves', (ids: string[]) => this.retried('leaves', ids.length, () => this.writeLastSeen(ids)));
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: PrismaService,
    private readonly streams: AgentStreams,
    private readonly bus: EventBus,
    private readonly metrics: MetricsService,
    private readonly replica: ReplicaPresence,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.writeOnlineLastSeen().catch(() => undefined), ONLINE_LAST_SEEN_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([this.reads.drain(), this.hellos.drain(), this.leaves.drain()]);
    await this.writeOnlineLastSeen().catch(() => undefined);
  }

  /** `<agentId>.<credential>` → the agent's row (with its activity watermark), or AGENT_CREDENTIAL_INVALID. */
  async authenticate(bearer: string): Promise<ConnectingAgent> {
    const dot = bearer.indexOf('.');
    const id = dot > 0 ? bearer.slice(0, dot) : '';
    const secret = dot > 0 ? bearer.slice(dot + 1) : '';
    const agent = isUuid(id) && secret ? await this.reads.add(id) : undefined;
    if (!agent || agent.retiredAt || !sameHash(secret, agent.credentialHash)) throw AgentError.badCredential();
    return agent;
  }

  /**
   * Records what the agent reported on connecting (its applied version only when it names a rule
   * set we know); resolves once written, with the row as it now is.
   */
  hello(agent: Agent, hello: HelloInput): Promise<Agent> {
    return this.hellos.add({ agent, hello });
  }

  /** The stream attached (after the Hello). */
  connected(agent: Agent): void {
    this.metrics.connectedAgents.set(this.streams.count());
    this.bus.publish('agent', { agentId: agent.id, online: true, lastSeenAt: new Date().toISOString(), appliedRuleSetId: agent.appliedRuleSetId, appliedVersion: agent.appliedVersion });
  }

  /** The agent's stream ended: its last-seen is written (batched) and, unless it is back already, it shows offline. */
  async disconnected(agentId: string): Promise<void> {
    this.metrics.connectedAgents.set(this.streams.count());
    const row = await this.leaves.add(agentId);
    if (!row || row.connected_replica !== null || this.streams.isOnline(agentId)) return;
    this.bus.publish('agent', { agentId, online: false, lastSeenAt: row.last_seen_at.toISOString(), appliedRuleSetId: row.applied_rule_set_id, appliedVersion: row.applied_version });
  }

  async updateAdapters(agentId: string, adapters: AdapterView[]): Promise<void> {
    await this.db.agent.update({ where: { id: agentId }, data: { adapters: adapters as unknown as Prisma.InputJsonValue, lastSeenAt: new Date() } });
  }

  /**
   * One UPDATE for every agent online here: what `last_seen_at` shows if this controller dies. It
   * also claims them again where unclaimed, repairing a leave written after the same agent's newer
   * Hello here (an agent another replica claimed since is left to it: that is its newer stream).
   */
  async writeOnlineLastSeen(): Promise<void> {
    const ids = this.streams.onlineIds();
    for (let i = 0; i < ids.length; i += 5_000) {
      const chunk = ids.slice(i, i + 5_000);
      await this.retried('online last-seen', chunk.length, () => this.db.$executeRaw`UPDATE agents SET last_seen_at = now(), connected_replica = COALESCE(connected_replica, ${this.replica.id}::uuid) WHERE id IN (${agentRowsInIdOrder(chunk)})`);
    }
  }

  /**
   * A presence batch whose failure (the database did not take it) is logged once here, while each
   * of its streams ends with UNAVAILABLE and no log line of its own.
   */
  private batcher<I, R>(name: string, handle: (items: I[]) => Promise<R[]>): Batcher<I, R> {
    return new Batcher(handle, {
      ...BATCH,
      failed: (err, agents) => {
        this.logger.warn({ err, agents }, `agent presence: ${name} batch failed; its streams end with UNAVAILABLE`);
        return AgentError.presenceUnavailable();
      },
    });
  }

  /** A deadlock or serialization failure is transient: the batch is written again, its streams never see it. */
  private retried<T>(batch: string, agents: number, write: () => Promise<T>): Promise<T> {
    return retryTransientConflict(write, ({ sqlState, attempt, waitMs, error }) =>
      this.logger.warn({ err: error, sqlState, attempt, waitMs, agents }, `agent presence: ${batch} batch hit ${sqlState}, writing it again`),
    );
  }

  private async readAgents(ids: string[]): Promise<(ConnectingAgent | undefined)[]> {
    const rows = await this.db.agent.findMany({ where: { id: { in: [...new Set(ids)] } }, include: { activityWatermark: { select: { seq: true } } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }

  private async writeHellos(items: { agent: Agent; hello: HelloInput }[]): Promise<Agent[]> {
    // The last Hello of an agent in a batch wins (an UPDATE … FROM must match each row once).
    const latest = new Map(items.map(({ agent, hello }) => [agent.id, hello]));
    const values = [...latest].map(([id, h]) => ({
      id,
      hostname: h.hostname,
      platform: h.platform,
      version: h.version,
      adapters: h.adapters,
      dataplane: h.dataplane ?? null,
      applied_rule_set_id: h.applied && isUuid(h.applied.ruleSetId) ? h.applied.ruleSetId : null,
      applied_version: h.applied?.version ?? null,
      applied_content_hash: h.applied?.contentHash ?? null,
    }));
    const rows = await this.db.$queryRaw<Applied[]>`
      UPDATE agents a
         SET hostname = v.hostname, platform = v.platform, version = v.version, adapters = v.adapters,
             dataplane = COALESCE(v.dataplane, a.dataplane), last_seen_at = now(),
             connected_replica = ${this.replica.id}::uuid,
             applied_rule_set_id = rs.id,
             applied_version = CASE WHEN rs.id IS NULL THEN NULL ELSE v.applied_version END,
             applied_content_hash = CASE WHEN rs.id IS NULL THEN NULL ELSE v.applied_content_hash END
        FROM jsonb_to_recordset(${JSON.stringify(values)}::jsonb)
               AS v(id uuid, hostname text, platform text, version text, adapters jsonb, dataplane jsonb,
                    applied_rule_set_id uuid, applied_version int, applied_content_hash text)
        LEFT JOIN rule_sets rs ON rs.id = v.applied_rule_set_id
       WHERE a.id = v.id AND a.id IN (${agentRowsInIdOrder([...latest.keys()])})
   RETURNING a.id::text AS id, a.applied_rule_set_id::text AS applied_rule_set_id, a.applied_version, a.applied_content_hash`;
    const written = new Map(rows.map((r) => [r.id, r]));
    return items.map(({ agent, hello }) => {
      const row = written.get(agent.id);
      if (!row) return agent; // retired meanwhile: nothing to record
      return {
        ...agent,
        hostname: hello.hostname,
        platform: hello.platform,
        version: hello.version,
        adapters: hello.adapters as unknown as Prisma.JsonValue,
        dataplane: (hello.dataplane ?? agent.dataplane) as Prisma.JsonValue,
        lastSeenAt: new Date(),
        connectedReplica: this.replica.id,
        appliedRuleSetId: row.applied_rule_set_id,
        appliedVersion: row.applied_version,
        appliedContentHash: row.applied_content_hash,
      };
    });
  }

  /** Only this replica's claim is cleared: an agent that moved to another replica stays its. */
  private async writeLastSeen(ids: string[]): Promise<(LastSeen | undefined)[]> {
    const gone = [...new Set(ids)].filter((id) => !this.streams.isOnline(id));
    const rows = await this.db.$queryRaw<LastSeen[]>`
      UPDATE agents
         SET last_seen_at = now(),
             connected_replica = CASE WHEN connected_replica = ${this.replica.id}::uuid AND id = ANY(${gone}::uuid[]) THEN NULL ELSE connected_replica END
       WHERE id IN (${agentRowsInIdOrder([...new Set(ids)])})
   RETURNING id::text AS id, last_seen_at, connected_replica::text AS connected_replica, applied_rule_set_id::text AS applied_rule_set_id, applied_version`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }
}

