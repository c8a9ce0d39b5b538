import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  DEFAULT_SETTINGS,
  checkEdition,
  checkImportExport,
  contentHash,
  exportRules,
  parseRuleInput,
  parseRuleList,
  parseRulesFile,
  parseSettings,
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
import { LicensingService } from '../licensing/licensing.service';
import { toPage, type Page, type PageRequest } from '../paging/page';
import { diffRuleSets, type RuleSetDiff } from './rule-set-diff';
import { ruleSetView, type RuleSetView } from './rule-set-view';
import { RuleSetError } from './rulesets.errors';

export const DEFAULT_RULE_SET = 'default';

export interface VersionSummary {
  version: number;
  contentHash: string;
  ruleCount: number;
  createdAt: string;
  createdBy: string;
}

interface Edit {
  rules: Rule[];
  settings: Settings;
}

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
    private readonly licensing: LicensingService,
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
    return versionModelOf(await this.get(id, version, db));
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

  async updateSettings(actor: Actor, id: string, input: unknown): Promise<RuleSetView> {
    const parsed = parseSettings(input);
    if (!parsed.ok) throw RuleSetError.invalidRule(parsed.errors.map((e) => ({ ...e, field: e.field ? `settings.${e.field}` : 'settings' })));
    return this.changeAll(actor, id, 'rule_set.settings', (current) => ({ rules: current.rules, settings: parsed.value }));
  }

  async versions(id: string, page: PageRequest<number>): Promise<Page<VersionSummary>> {
    await this.findSet(this.db, id);
    const rows = await this.db.ruleSetVersion.findMany({
      where: { ruleSetId: id, ...(page.after !== undefined && { version: { lt: page.after } }) },
      orderBy: { version: 'desc' },
      take: page.limit + 1,
    });
    const summaries = rows.map((v) => ({
      version: v.version,
      contentHash: v.contentHash,
      ruleCount: (v.rules as unknown as Rule[]).length,
      createdAt: v.createdAt.toISOString(),
      createdBy: v.createdBy,
    }));
    return toPage(summaries, page.limit, (v) => v.version);
  }

  async diff(id: string, from: number, to?: number): Promise<RuleSetDiff> {
    const a = await this.get(id, from).catch(renameVersionField('from'));
    const b = await this.get(id, to).catch(renameVersionField('to'));
    return diffRuleSets(id, a, b);
  }

  /** The rules file of one version (latest when absent); needs import/export in the fleet edition. */
  async exportFile(id: string, version?: number): Promise<{ fileName: string; content: string }> {
    const gate = checkImportExport(await this.licensing.fleetEdition());
    if (gate.length > 0) throw RuleSetError.edition(gate.map((e) => ({ ...e, field: 'importExport' })));
    const v = await this.get(id, version);
    return { fileName: `${v.name}-v${v.version}.portfleet-rules.json`, content: exportRules(v.rules, v.settings) };
  }

  /** A new version holding the file's rules and settings; every error at once, nothing stored on any. */
  async importFile(actor: Actor, id: string, text: string): Promise<RuleSetView> {
    const gate = checkImportExport(await this.licensing.fleetEdition());
    if (gate.length > 0) throw RuleSetError.edition(gate.map((e) => ({ ...e, field: 'importExport' })));
    const parsed = parseRulesFile(text);
    // A file that does not parse at all has no field inside it: the request's `content` is at fault.
    if (!parsed.ok) throw RuleSetError.invalidRule(parsed.errors.map((e) => (e.field ? e : { ...e, field: 'content' })));
    return this.changeAll(actor, id, 'rule_set.import', () => ({ rules: parsed.value.rules, settings: parsed.value.settings }));
  }

  private async change(actor: Actor, id: string, action: string, edit: (rules: Rule[]) => Rule[]): Promise<RuleSetView> {
    return this.changeAll(actor, id, action, (current) => ({ rules: edit(current.rules), settings: current.settings }));
  }

  private async changeAll(actor: Actor, id: string, action: string, edit: (current: Edit) => Edit): Promise<RuleSetView> {
    return this.db.$transaction(async (tx) => {
      await this.lockSet(tx, id);
      const before = await this.get(id, undefined, tx);
      const next = edit({ rules: before.rules, settings: before.settings });
      const checked = parseRuleList(next.rules);
      if (!checked.ok) throw RuleSetError.invalidRule(checked.errors);
      const editionErrors = checkEdition(await this.licensing.fleetEdition(tx), checked.value);
      if (editionErrors.length > 0) throw RuleSetError.edition(editionErrors);
      const version = await this.insertVersion(tx, actor, before.id, before.version + 1, checked.value, next.settings);
      await this.audit.record(tx, actor, {
        action,
        target: `rule_set:${id}`,
        before: { version: before.version, rules: before.rules, settings: before.settings },
        after: { version: version.version, rules: version.rules, settings: version.settings },
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

function renameVersionField(field: string) {
  return (err: unknown): never => {
    if (err instanceof RuleSetError && err.code === 'VERSION_NOT_FOUND') throw new RuleSetError('not_found', err.code, err.message.replace(/^version: /, ''), field);
    throw err;
  };
}

function toJson(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

/** A loaded version as agents receive it. */
export function versionModelOf(view: RuleSetView): VersionModel {
  return { ruleSetId: view.id, version: view.version, rules: view.rules, settings: view.settings, contentHash: view.contentHash };
}
