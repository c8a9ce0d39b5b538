import { Inject, Injectable } from '@nestjs/common';
import { SYSTEM_ACTOR, type Actor } from '../auth/actor';
import { hashSecret, newSecret, sameHash } from '../auth/secret-token';
import { AuditService } from '../audit/audit.service';
import { CONFIG } from '../core.module';
import type { Config } from '../config';
import { PrismaService } from '../db/prisma.service';
import { isUuid } from '../errors/request-fields';
import type { Agent, Prisma } from '../generated/prisma/client';
import { AgentStreams } from './agent-streams';
import { agentView, type AdapterView, type AgentView } from './agent-view';
import { AgentError } from './agents.errors';

export const ENROLLMENT_TOKEN_PREFIX = 'pfe_';
const DEFAULT_ENROLLMENT_TTL_S = 24 * 3600;

export interface HelloInput {
  hostname: string;
  platform: string;
  version: string;
  adapters: AdapterView[];
  dataplane?: unknown;
  applied?: { ruleSetId: string; version: number; contentHash: string };
}

export interface EnrollInput {
  token: string;
  hostname: string;
  platform: string;
  version: string;
}

/** The fleet: enrollment, credentials, inventory and presence. */
@Injectable()
export class AgentsService {
  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
    private readonly streams: AgentStreams,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async list(): Promise<AgentView[]> {
    const agents = await this.db.agent.findMany({ where: { retiredAt: null }, orderBy: { createdAt: 'asc' } });
    return agents.map((a) => agentView(a, this.streams.isOnline(a.id)));
  }

  async get(id: string): Promise<AgentView> {
    return agentView(await this.find(id), this.streams.isOnline(id));
  }

  async find(id: string, field = 'agentId'): Promise<Agent> {
    const agent = isUuid(id) ? await this.db.agent.findUnique({ where: { id } }) : null;
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
    return `portfleet-agent enroll --controller ${this.config.publicGrpcUrl} --token ${token}`;
  }

  /** Spends a one-time token (atomically: two hosts racing with one token cannot both win). */
  async enroll(input: EnrollInput): Promise<{ agentId: string; credential: string }> {
    const tokenHash = hashSecret(input.token);
    const credential = newSecret('');
    return this.db.$transaction(async (tx) => {
      const now = new Date();
      const spent = await tx.enrollmentToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (spent.count !== 1) {
        const row = await tx.enrollmentToken.findUnique({ where: { tokenHash } });
        if (!row) throw AgentError.unknownEnrollmentToken();
        if (row.usedAt) throw AgentError.enrollmentTokenUsed();
        throw AgentError.enrollmentTokenExpired();
      }
      const agent = await tx.agent.create({
        data: { name: input.hostname, hostname: input.hostname, platform: input.platform, version: input.version, credentialHash: hashSecret(credential) },
      });
      await tx.enrollmentToken.update({ where: { tokenHash }, data: { usedByAgentId: agent.id } });
      const actor: Actor = { kind: 'system', label: `agent:${agent.id}`, role: 'viewer' };
      await this.audit.record(tx, actor, { action: 'agent.enroll', target: `agent:${agent.id}`, after: { hostname: input.hostname, platform: input.platform, version: input.version } });
      return { agentId: agent.id, credential };
    });
  }

  /** `<agentId>.<credential>` → the agent, or AGENT_CREDENTIAL_INVALID. */
  async authenticate(bearer: string): Promise<Agent> {
    const dot = bearer.indexOf('.');
    const id = dot > 0 ? bearer.slice(0, dot) : '';
    const secret = dot > 0 ? bearer.slice(dot + 1) : '';
    const agent = isUuid(id) ? await this.db.agent.findUnique({ where: { id } }) : null;
    if (!agent || agent.retiredAt || !secret || !sameHash(secret, agent.credentialHash)) throw AgentError.badCredential();
    return agent;
  }

  /** Records what the agent reported on connecting; returns the updated row. */
  async hello(agentId: string, hello: HelloInput): Promise<Agent> {
    // What the agent says it runs is only recorded when it names a rule set we know.
    const applied = hello.applied && isUuid(hello.applied.ruleSetId) && (await this.db.ruleSet.count({ where: { id: hello.applied.ruleSetId } })) > 0
      ? hello.applied
      : undefined;
    return this.db.agent.update({
      where: { id: agentId },
      data: {
        hostname: hello.hostname,
        platform: hello.platform,
        version: hello.version,
        adapters: hello.adapters as unknown as Prisma.InputJsonValue,
        dataplane: (hello.dataplane ?? undefined) as Prisma.InputJsonValue | undefined,
        lastSeenAt: new Date(),
        appliedRuleSetId: applied?.ruleSetId ?? null,
        appliedVersion: applied?.version ?? null,
        appliedContentHash: applied?.contentHash ?? null,
      },
    });
  }

  async updateAdapters(agentId: string, adapters: AdapterView[]): Promise<void> {
    await this.db.agent.update({ where: { id: agentId }, data: { adapters: adapters as unknown as Prisma.InputJsonValue, lastSeenAt: new Date() } });
  }

  async touch(agentId: string): Promise<void> {
    await this.db.agent.updateMany({ where: { id: agentId }, data: { lastSeenAt: new Date() } });
  }
}
