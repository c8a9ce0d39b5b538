import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  DEFAULT_SETTINGS,
  checkEdition,
  contentHash,
  parseRuleInput,
  parseRuleList,
  type Rule,
  type RuleInput,
  type RuleSetVersion as VersionModel,
  type Settings,
} from '@portfleet/proto';
import type { Actor } from '../auth/actor';
import { SYSTEM_ACTOR } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import { PrismaService, type Db } from '../db/prisma.service';
import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import { Prisma } from '../generated/prisma/client';
import { ruleSetView, type RuleSetView } from './rule-set-view';
import { RuleSetError } from './rulesets.errors';

export const DEFAULT_RULE_SET = 'default';
/** Editions arrive with licensing (issue 4); until then every agent runs the Trial. */
const EDITION = 'trial';

/**
 * Rule sets and their immutable versions. Every change reads the latest version, builds the new
 * list, validates it as a whole (rules, then edition) and inserts version N+1 in one transaction
 * that holds the rule set's row lock, so concurrent edits serialize and a failure stores nothing.
 */
@Injectable()
export class RuleSetsService {
  constructor(
    private readonly db: PrismaService,
    private readonly audit: AuditService,
  ) {}

  async ensureDefault(): Promise<void> {
    if (await this.db.ruleSet.findUnique({ where: { name: DEFAULT_RULE_SET } })) return;
    try {
      await this.create(SYSTEM_ACTOR, DEFAULT_RULE_SET);
    } catch (err) {
      if (!(err instanceof RuleSetError && err.code === 'NAME_TAKEN')) throw err;
    }
  }

  async list() {
    const sets = await this.db.ruleSet.findMany({ orderBy: { createdAt: 'asc' } });
    return sets.map((s) => ({ id: s.id, name: s.name, latestVersion: s.latestVersion }));
  }

  async create(actor: Actor, name: string): Promise<RuleSetView> {
    try {
      return await this.db.$transaction(async (tx) => {
        const set = await tx.ruleSet.create({ data: { name, latestVersion: 1 } });
        const version = await tx.ruleSetVersion.create({
          data: { ruleSetId: set.id, version: 1, rules: [], settings: toJson(DEFAULT_SETTINGS), contentHash: contentHash([], DEFAULT_SETTINGS), createdBy: actor.label },
        });
        await this.audit.record(tx, actor, { action: 'rule_set.create', target: `rule_set:${set.id}`, after: { name } });
        return ruleSetView(set, version);
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw RuleSetError.nameTaken(name);
      throw err;
    }
  }

  /** One version (latest when `version` is absent). */
  async get(id: string, version?: number, db: Db = this.db): Promise<RuleSetView> {
    const set = await this.findSet(db, id);
    const number = version ?? set.latestVersion;
    const row = await db.ruleSetVersion.findUnique({ where: { ruleSetId_version: { ruleSetId: id, version: number } } });
    if (!row) throw RuleSetError.versionNotFound(id, number);
    return ruleSetView(set, row);
  }

  /** The version as agents receive it. */
  async versionModel(id: string, version: number, db: Db = this.db): Promise<VersionModel> {
    const view = await this.get(id, version, db);
    return { ruleSetId: view.id, version: view.version, rules: view.rules, settings: view.settings, contentHash: view.contentHash };
  }

  async addRule(actor: Actor, id: string, input: unknown, position?: number): Promise<RuleSetView> {
    const rule = parseRule(input, position);
    return this.change(actor, id, 'rule.create', (rules) => {
      const at = position === undefined ? rules.length : Math.min(position, rules.length);
      const added: Rule = { ...rule, id: randomUUID() };
      return [...rules.slice(0, at), added, ...rules.slice(at)];
    });
  }

  async updateRule(actor: Actor, id: string, ruleId: string, input: unknown): Promise<RuleSetView> {
    return this.change(actor, id, 'rule.update', (rules) => {
      const index = indexOfRule(rules, ruleId);
      const rule = parseRule(input, index);
      return rules.map((r, i) => (i === index ? { ...rule, id: ruleId } : r));
    });
  }

  async deleteRule(actor: Actor, id: string, ruleId: string): Promise<RuleSetView> {
    return this.change(actor, id, 'rule.delete', (rules) => {
      const index = indexOfRule(rules, ruleId);
      return rules.filter((_, i) => i !== index);
    });
  }

  async reorder(actor: Actor, id: string, ruleIds: readonly string[]): Promise<RuleSetView> {
    return this.change(actor, id, 'rule_set.reorder', (rules) => {
      const byId = new Map(rules.map((r) => [r.id, r]));
      if (ruleIds.length !== rules.length || new Set(ruleIds).size !== ruleIds.length || ruleIds.some((r) => !byId.has(r))) {
        throw RuleSetError.orderMismatch(`must list each of the ${rules.length} rule ids of the latest version exactly once`);
      }
      return ruleIds.map((r) => byId.get(r)!);
    });
  }

  private async change(actor: Actor, id: string, action: string, edit: (rules: Rule[]) => Rule[]): Promise<RuleSetView> {
    return this.db.$transaction(async (tx) => {
      await this.lockSet(tx, id);
      const before = await this.get(id, undefined, tx);
      const rules = edit(before.rules);
      const checked = parseRuleList(rules);
      if (!checked.ok) throw RuleSetError.invalidRule(checked.errors);
      const editionErrors = checkEdition(EDITION, checked.value);
      if (editionErrors.length > 0) throw RuleSetError.edition(editionErrors);
      const version = await this.insertVersion(tx, actor, before.id, before.version + 1, checked.value, before.settings);
      await this.audit.record(tx, actor, {
        action,
        target: `rule_set:${id}`,
        before: { version: before.version, rules: before.rules },
        after: { version: version.version, rules: version.rules },
      });
      return version;
    });
  }

  private async insertVersion(tx: Db, actor: Actor, id: string, version: number, rules: Rule[], settings: Settings): Promise<RuleSetView> {
    const row = await tx.ruleSetVersion.create({
      data: { ruleSetId: id, version, rules: toJson(rules), settings: toJson(settings), contentHash: contentHash(rules, settings), createdBy: actor.label },
    });
    const set = await tx.ruleSet.update({ where: { id }, data: { latestVersion: version } });
    return ruleSetView(set, row);
  }

  private async lockSet(tx: Db, id: string): Promise<void> {
    if (!isUuid(id)) throw RuleSetError.notFound(id);
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM rule_sets WHERE id = ${id}::uuid FOR UPDATE`;
    if (rows.length === 0) throw RuleSetError.notFound(id);
  }

  private async findSet(db: Db, id: string) {
    const set = isUuid(id) ? await db.ruleSet.findUnique({ where: { id } }) : null;
    if (!set) throw RuleSetError.notFound(id);
    return set;
  }
}

function parseRule(input: unknown, ruleIndex?: number): RuleInput {
  if (input === undefined || input === null) throw new ValidationError('rule', 'REQUIRED', 'is required');
  const parsed = parseRuleInput(input);
  if (!parsed.ok) throw RuleSetError.invalidRule(parsed.errors.map((e) => ({ ...e, ...(ruleIndex !== undefined && { ruleIndex }) })));
  return parsed.value;
}

function indexOfRule(rules: readonly Rule[], ruleId: string): number {
  const index = rules.findIndex((r) => r.id === ruleId);
  if (index < 0) throw RuleSetError.ruleNotFound(ruleId);
  return index;
}

function toJson(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
