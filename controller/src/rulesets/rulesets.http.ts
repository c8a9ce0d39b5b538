import { Body, Controller, Delete, Get, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { ValidationError } from '../errors/domain-error';
import { optionalInt, requireObject, requireString, requireStringArray } from '../errors/request-fields';
import { isNumberKey, pageRequest } from '../paging/page';
import { RuleSetsService } from './rulesets.service';

@Controller('api/rule-sets')
export class RuleSetsHttp {
  constructor(private readonly ruleSets: RuleSetsService) {}

  @Get()
  @Access('viewer')
  async list() {
    return { ruleSets: await this.ruleSets.list() };
  }

  @Post()
  @Access('operator')
  create(@Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.ruleSets.create(actor, requireString(requireObject(body).name, 'name', 128));
  }

  @Get(':id')
  @Access('viewer')
  get(@Param('id') id: string) {
    return this.ruleSets.get(id);
  }

  @Get(':id/versions')
  @Access('viewer')
  async versions(@Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const page = await this.ruleSets.versions(id, pageRequest(limit, cursor, isNumberKey));
    return { versions: page.items, nextCursor: page.nextCursor };
  }

  @Get(':id/versions/:version')
  @Access('viewer')
  version(@Param('id') id: string, @Param('version') version: string) {
    return this.ruleSets.get(id, versionNumber(version, 'version'));
  }

  @Get(':id/diff')
  @Access('viewer')
  diff(@Param('id') id: string, @Query('from') from?: string, @Query('to') to?: string) {
    return this.ruleSets.diff(id, versionNumber(from, 'from'), to ? versionNumber(to, 'to') : undefined);
  }

  @Put(':id/settings')
  @Access('operator')
  settings(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.ruleSets.updateSettings(actor, id, requireObject(body).settings);
  }

  @Get(':id/export')
  @Access('viewer')
  async export(@Param('id') id: string, @Res() reply: FastifyReply, @Query('version') version?: string) {
    const file = await this.ruleSets.exportFile(id, version ? versionNumber(version, 'version') : undefined);
    await reply.header('content-type', 'application/json; charset=utf-8').header('content-disposition', `attachment; filename="${file.fileName.replace(/[^\w.-]/g, '_')}"`).send(file.content);
  }

  @Post(':id/import')
  @Access('operator')
  import(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.ruleSets.importFile(actor, id, requireString(requireObject(body).content, 'content', 1024 * 1024));
  }

  @Post(':id/rules')
  @Access('operator')
  addRule(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    const b = requireObject(body);
    return this.ruleSets.addRule(actor, id, b.rule, optionalInt(b.position, 'position', 0, 1_000_000));
  }

  @Put(':id/rules/:ruleId')
  @Access('operator')
  updateRule(@Param('id') id: string, @Param('ruleId') ruleId: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.ruleSets.updateRule(actor, id, ruleId, requireObject(body).rule);
  }

  @Delete(':id/rules/:ruleId')
  @Access('operator')
  deleteRule(@Param('id') id: string, @Param('ruleId') ruleId: string, @CurrentActor() actor: Actor) {
    return this.ruleSets.deleteRule(actor, id, ruleId);
  }

  @Put(':id/order')
  @Access('operator')
  reorder(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.ruleSets.reorder(actor, id, requireStringArray(requireObject(body).ruleIds, 'ruleIds'));
  }
}

function versionNumber(value: string | undefined, field: string): number {
  if (value === undefined || !/^[1-9]\d{0,8}$/.test(value)) throw new ValidationError(field, 'OUT_OF_RANGE', 'must be a positive integer');
  return Number(value);
}
