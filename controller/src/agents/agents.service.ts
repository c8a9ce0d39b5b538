import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type Actor } from '../auth/actor';
import { hashSecret, newSecret } from '../auth/secret-token';
import { AuditService } from '../audit/audit.service';
import { ClusterBus } from '../cluster/cluster-bus';
import { CONFIG, LOGGER } from '../core.module';
import type { Config } from '../config';
import { PrismaService, type Db } from '../db/prisma.service';
import { retryTransientConflict } from '../db/transient-conflict';
import { isUuid } from '../errors/request-fields';
import { EventBus } from '../events/event-bus';
import type { Agent } from '../generated/prisma/client';
import { LicensingService } from '../licensing/licensing.service';
import { enrollmentCaPin } from '../tls/enrollment-pin';
import { cursorOf, type Page, type PageRequest, type TimeIdKey } from '../paging/page';
import { AdapterCommands, type MacAction } from './adapter-commands';
import { adapterNames } from './agent-adapter-names';
import { AgentStreams } from './agent-streams';
import { agentSummary, type AgentSummary } from './agent-summary';
import { AgentList, type AgentFilter } from './agent-list';
import { agentView, type AgentView } from './agent-view';
import { AgentError } from './agents.errors';
import { heldByLive, ReplicaPresence } from './replica-presence';

export interface AgentChanges {
  name?: string;
  groups?: string[];
  labels?: string[];
}

export const ENROLLMENT_TOKEN_PREFIX = 'pfe_';
const DEFAULT_ENROLLMENT_TTL_S = 24 * 3600;
/**
 * A rollout enrolls many hosts at once and enrollments take turns for their seat: waiting for a
 * pooled connection or the seats lock is expected, and must not fail the host (Prisma's defaults,
 * 2 s to start and 5 s in all, did at 32 in flight).
 */
const ENROLL_TRANSACTION = { maxWait: 10_000, timeout: 20_000 };
/** ClusterBus channel: an agent was retired (payload: its id). */
const RETIRED_CHANNEL = 'agent_retired';

export interface EnrollInput {
  token: string;
  hostname: string;
  platform: string;
  version: string;
}

/** The fleet: enrollment, credentials, inventory and presence. */
@Injectable()
export class AgentsService implements OnModuleInit, OnModuleDestroy {
  private readonly agentList: AgentList;

  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly streams: AgentStreams,
    private readonly licensing: LicensingService,
    private readonly commands: AdapterCommands,
    private readonly bus: EventBus,
    private readonly replicas: ReplicaPresence,
    private readonly cluster: ClusterBus,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.agentList = new AgentList(db.databaseUrl, replicas.id);
  }

  onModuleInit(): void {
    // An agent retired on another replica may be connected here.
    this.cluster.subscribe(RETIRED_CHANNEL, (agentId) => this.streams.closeAgent(agentId, AgentError.badCredential()));
  }

  async onModuleDestroy(): Promise<void> {
    await this.agentList.close();
  }

  /**
   * Enrolled, not retired agents, oldest first, keyset-paged by (createdAt, id): the page's agents
   * as their `Agent` JSON, comma-separated, UTF-8 (the HTTP list sends them as they are).
   */
  async listJson(filter: AgentFilter, page: PageRequest<TimeIdKey>): Promise<{ agents: Buffer; nextCursor: string | null }> {
    const text = await this.agentList.page(filter, page, await this.licensed());
    return { agents: text.agents, nextCursor: text.last ? cursorOf(text.last) : null };
  }

  /** Counts and the tags in use over the filter, for the fleet page's header and filter menus (agent-summary.ts). */
  async summary(filter: AgentFilter): Promise<AgentSummary> {
    return agentSummary(this.db, this.replicas.id, filter, await this.licensed());
  }

  /** The adapter names enrolled agents reported (agent-adapter-names.ts). */
  adapterNames(): Promise<string[]> {
    return adapterNames(this.db);
  }

  /** The same page as views (gRPC ListAgents maps them to its messages). */
  async list(filter: AgentFilter, page: PageRequest<TimeIdKey>): Promise<Page<AgentView>> {
    const { agents, nextCursor } = await this.listJson(filter, page);
    return { items: JSON.parse(`[${agents.toString('utf8')}]`) as AgentView[], nextCursor };
  }

  async get(id: string): Promise<AgentView> {
    return this.view(await this.find(id));
  }

  async update(actor: Actor, id: string, changes: AgentChanges): Promise<AgentView> {
    const updated = await this.db.$transaction(async (tx) => {
      const before = await this.find(id, 'id', tx);
      const after = await tx.agent.update({ where: { id: before.id }, data: changes });
      await this.audit.record(tx, actor, {
        action: 'agent.update',
        target: `agent:${id}`,
        before: { name: before.name, groups: before.groups, labels: before.labels },
        after: { name: after.name, groups: after.groups, labels: after.labels },
      });
      return after;
    });
    return this.publish(updated);
  }

  /**
   * The credential stops working, the stream is closed and the seat goes to the next agent. The
   * retired row is taken before the one given the seat, in whichever id order: a batch holding the
   * second while it waits for the first is a deadlock, and the transaction PostgreSQL fails for it
   * is run again.
   */
  async retire(actor: Actor, id: string): Promise<AgentView> {
    const retired = await retryTransientConflict(() => this.db.$transaction(async (tx) => {
      const before = await this.find(id, 'id', tx);
      const after = await tx.agent.update({ where: { id: before.id }, data: { retiredAt: new Date(), edition: null } });
      await tx.pushTarget.updateMany({ where: { agentId: id, state: { in: ['waiting', 'pending', 'delivered'] } }, data: { state: 'cancelled', finishedAt: new Date() } });
      await this.licensing.releaseSeat(tx, before.edition);
      await this.audit.record(tx, actor, { action: 'agent.retire', target: `agent:${id}`, before: { name: before.name, hostname: before.hostname } });
      // Sent on commit: whichever replica holds the agent's stream ends it.
      await this.cluster.publish(RETIRED_CHANNEL, before.id, tx);
      return after;
    }), ({ sqlState, attempt, waitMs }) => this.logger.warn({ sqlState, attempt, waitMs, agentId: id }, 'retiring the agent lost a lock race; running it again'));
    this.streams.closeAgent(id, AgentError.badCredential());
    this.bus.publish('agent', { agentId: id, online: false, retired: true, lastSeenAt: retired.lastSeenAt?.toISOString() ?? null });
    return agentView(retired, false);
  }

  /** Sends a MAC change to the agent and waits for its answer (AGENT_OFFLINE, AGENT_TIMEOUT). */
  async changeMac(actor: Actor, id: string, adapter: string, action: MacAction) {
    const agent = await this.find(id, 'id');
    const result = await this.commands.send(agent.id, adapter, action);
    await this.audit.record(this.db, actor, {
      action: 'agent.adapter_mac',
      target: `agent:${id}`,
      after: { adapter, action: action?.$case, ok: result.ok, error: result.error || null, mac: result.mac || null },
    });
    return { commandId: result.commandId, ok: result.ok, error: result.error || null, mac: result.mac || null, adapters: result.adapters };
  }

  private async view(agent: Agent): Promise<AgentView> {
    return agentView(agent, heldByLive(agent.connectedReplica, await this.replicas.live()), await this.licensed());
  }

  /** Whether a license or the trial gives editions (an unlicensed fleet's agents show none). */
  private async licensed(): Promise<boolean> {
    return (await this.licensing.state()).edition !== null;
  }

  private async publish(agent: Agent): Promise<AgentView> {
    const view = await this.view(agent);
    this.bus.publish('agent', { agentId: view.id, online: view.online, lastSeenAt: view.lastSeenAt, appliedRuleSetId: view.appliedRuleSetId, appliedVersion: view.appliedVersion, name: view.name, groups: view.groups, labels: view.labels });
    return view;
  }

  async find(id: string, field = 'agentId', db: Db = this.db): Promise<Agent> {
    const agent = isUuid(id) ? await db.agent.findUnique({ where: { id } }) : null;
    if (!agent || agent.retiredAt) throw AgentError.notFound(id, field);
    return agent;
  }

  async createEnrollmentToken(actor: Actor, ttlSeconds = DEFAULT_ENROLLMENT_TTL_S) {
    const token = newSecret(ENROLLMENT_TOKEN_PREFIX);
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.db.$transaction(async (tx) => {
      const row = await tx.enrollmentToken.create({ data: { tokenHash: hashSecret(token), expiresAt, createdBy: actor.label } });
      await this.audit.record(tx, actor, { action: 'enrollment_token.create', target: `enrollment_token:${row.id}`, after: { expiresAt } });
    });
    return { token, expiresAt, command: this.enrollCommand(token) };
  }

  /** A token chosen by whoever starts the controller (npm start enrolls its local agent with it). */
  async registerBootstrapToken(token: string, ttlSeconds = 3600): Promise<void> {
    const tokenHash = hashSecret(token);
    if (await this.db.enrollmentToken.findUnique({ where: { tokenHash } })) return;
    await this.db.$transaction(async (tx) => {
      const row = await tx.enrollmentToken.create({ data: { tokenHash, expiresAt: new Date(Date.now() + ttlSeconds * 1000), createdBy: SYSTEM_ACTOR.label } });
      await this.audit.record(tx, SYSTEM_ACTOR, { action: 'enrollment_token.create', target: `enrollment_token:${row.id}`, after: { bootstrap: true } });
    });
  }

  enrollCommand(token: string): string {
    const pin = enrollmentCaPin(this.config.dataDir, this.config.host);
    return `portfleet-agent enroll --controller ${this.config.publicGrpcUrl} --token ${token}${pin ? ` --ca-sha256 ${pin}` : ''}`;
  }

  /** Spends a one-time token (atomically: two hosts racing with one token cannot both win). */
  async enroll(input: EnrollInput): Promise<{ agentId: string; credential: string; capabilityPublicKeyPem: string }> {
    const tokenHash = hashSecret(input.token);
    const credential = newSecret('');
    const agentId = randomUUID();
    const enrolled = await this.db.$transaction(async (tx) => {
      const now = new Date();
      const spent = await tx.enrollmentToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (spent.count !== 1) {
        const row = await tx.enrollmentToken.findUnique({ where: { tokenHash } });
        if (!row) throw AgentError.unknownEnrollmentToken();
        if (row.usedAt) throw AgentError.enrollmentTokenUsed();
        throw AgentError.enrollmentTokenExpired();
      }
      const actor: Actor = { kind: 'system', label: `agent:${agentId}`, role: 'viewer' };
      await this.audit.record(tx, actor, { action: 'agent.enroll', target: `agent:${agentId}`, after: { hostname: input.hostname, platform: input.platform, version: input.version } });
      // From here to the commit, enrollments take turns (the seats lock): keep it short.
      const edition = await this.licensing.seatForNewAgent(tx);
      await tx.agent.create({
        data: { id: agentId, name: input.hostname, hostname: input.hostname, platform: input.platform, version: input.version, credentialHash: hashSecret(credential), edition, createdAt: new Date() },
      });
      await tx.enrollmentToken.update({ where: { tokenHash }, data: { usedByAgentId: agentId } });
      return { agentId, credential, capabilityPublicKeyPem: this.licensing.capabilityPublicKeyPem() };
    }, ENROLL_TRANSACTION);
    this.bus.publish('agent', { agentId: enrolled.agentId, online: false, lastSeenAt: null, name: input.hostname, enrolled: true });
    return enrolled;
  }

}
