import { Body, Controller, Delete, Get, Param, Post, Put } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { ValidationError } from '../errors/domain-error';
import { optionalInt, requireObject, requireString, requireStringArray } from '../errors/request-fields';
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

  @Get(':id/versions/:version')
  @Access('viewer')
  version(@Param('id') id: string, @Param('version') version: string) {
    if (!/^[1-9]\d{0,8}$/.test(version)) throw new ValidationError('version', 'OUT_OF_RANGE', 'must be a positive integer');
    return this.ruleSets.get(id, Number(version));
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
