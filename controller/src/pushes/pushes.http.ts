import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { optionalInt, requireObject, requireString, requireStringArray } from '../errors/request-fields';
import { isTimeIdKey, pageRequest } from '../paging/page';
import { isAgentIdKey, parseTargetStates } from './push-targets-page';
import { PushesService, type CreatePushInput } from './pushes.service';
import { parseRollout } from './rollout';

@Controller('api/pushes')
export class PushesHttp {
  constructor(private readonly pushes: PushesService) {}

  @Post()
  @Access('operator')
  create(@Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.pushes.create(actor, pushRequest(body));
  }

  @Post('dry-run')
  @Access('operator')
  @HttpCode(200)
  dryRun(@Body() body: unknown) {
    return this.pushes.dryRun(pushRequest(body));
  }

  @Get()
  @Access('viewer')
  async list(@Query('ruleSetId') ruleSetId?: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const page = await this.pushes.list({ ruleSetId: ruleSetId || undefined }, pageRequest(limit, cursor, isTimeIdKey));
    return { pushes: page.items, nextCursor: page.nextCursor };
  }

  @Get(':id')
  @Access('viewer')
  get(@Param('id') id: string) {
    return this.pushes.get(id);
  }

  /** The push with its counts and no targets (push-targets-page.ts): bounded however many agents it targets. */
  @Get(':id/summary')
  @Access('viewer')
  summary(@Param('id') id: string) {
    return this.pushes.summary(id);
  }

  /** A keyset page of the push's targets with their agents' name, host and presence, `?state=` filtered. */
  @Get(':id/targets')
  @Access('viewer')
  async targets(@Param('id') id: string, @Query() q: Record<string, string | undefined>) {
    const page = await this.pushes.targets(id, parseTargetStates(q.state), pageRequest(q.limit, q.cursor, isAgentIdKey));
    return { targets: page.items, nextCursor: page.nextCursor };
  }

  @Post(':id/retry')
  @Access('operator')
  @HttpCode(200)
  retry(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.pushes.retry(actor, id);
  }

  @Post(':id/rollback')
  @Access('operator')
  rollback(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.pushes.rollback(actor, id, optionalInt(requireObject(body ?? {}).version, 'version', 1, 1_000_000_000));
  }

  @Post(':id/resume')
  @Access('operator')
  @HttpCode(200)
  resume(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.pushes.resume(actor, id);
  }

  @Post(':id/abort')
  @Access('operator')
  @HttpCode(200)
  abort(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.pushes.abort(actor, id);
  }
}

function optionalStrings(value: unknown, field: string): string[] | undefined {
  return value === undefined ? undefined : requireStringArray(value, field);
}

function pushRequest(body: unknown): CreatePushInput {
  const b = requireObject(body);
  return {
    ruleSetId: requireString(b.ruleSetId, 'ruleSetId'),
    version: optionalInt(b.version, 'version', 1, 1_000_000_000),
    agentIds: optionalStrings(b.agentIds, 'agentIds'),
    groups: optionalStrings(b.groups, 'groups'),
    labels: optionalStrings(b.labels, 'labels'),
    rollout: parseRollout(b.rollout),
  };
}
