import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { optionalInt, requireObject, requireString, requireStringArray } from '../errors/request-fields';
import { PushesService } from './pushes.service';

@Controller('api/pushes')
export class PushesHttp {
  constructor(private readonly pushes: PushesService) {}

  @Post()
  @Access('operator')
  create(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const b = requireObject(body);
    return this.pushes.create(actor, {
      ruleSetId: requireString(b.ruleSetId, 'ruleSetId'),
      version: optionalInt(b.version, 'version', 1, 1_000_000_000),
      agentIds: requireStringArray(b.agentIds, 'agentIds'),
    });
  }

  @Get(':id')
  @Access('viewer')
  get(@Param('id') id: string) {
    return this.pushes.get(id);
  }
}
