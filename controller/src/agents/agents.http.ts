import { Body, Controller, Get, Header, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { ValidationError } from '../errors/domain-error';
import { optionalInt, requireObject } from '../errors/request-fields';
import { isTimeIdKey, pageRequest } from '../paging/page';
import type { AgentFilter } from './agent-list';
import { parseAgentChanges, parseEditionFilter as parseEdition, parseMacAction } from './agent-input';
import { AgentsService } from './agents.service';

const LIST_OPEN = Buffer.from('{"agents":[');

@Controller('api')
export class AgentsHttp {
  constructor(private readonly agents: AgentsService) {}

  /**
   * `{agents, nextCursor}` written around the agents' JSON as the list wrote it (UTF-8): a page of
   * 100 is ~60 KB, and making objects of it only for Fastify to stringify them again was most of
   * its CPU. With the content type set, Fastify sends a buffer body as it is.
   */
  @Get('agents')
  @Access('viewer')
  @Header('content-type', 'application/json; charset=utf-8')
  async list(@Query() q: Record<string, string | undefined>): Promise<Buffer> {
    const page = await this.agents.listJson(parseFilter(q), pageRequest(q.limit, q.cursor, isTimeIdKey));
    return Buffer.concat([LIST_OPEN, page.agents, Buffer.from(`],"nextCursor":${JSON.stringify(page.nextCursor)}}`)]);
  }

  /** Counts and the tags in use, for the fleet page's header and filter menus (agent-summary.ts). */
  @Get('agents/summary')
  @Access('viewer')
  summary(@Query() q: Record<string, string | undefined>) {
    return this.agents.summary(parseFilter(q));
  }

  /** The adapter names the fleet reported, for the rule editor's suggestions. */
  @Get('agents/adapter-names')
  @Access('viewer')
  async adapterNames() {
    return { names: await this.agents.adapterNames() };
  }

  @Get('agents/:id')
  @Access('viewer')
  get(@Param('id') id: string) {
    return this.agents.get(id);
  }

  @Patch('agents/:id')
  @Access('operator')
  update(@Param('id') id: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.agents.update(actor, id, parseAgentChanges(requireObject(body)));
  }

  @Post('agents/:id/retire')
  @Access('operator')
  @HttpCode(200)
  retire(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.agents.retire(actor, id);
  }

  @Post('agents/:id/adapters/:adapter/mac')
  @Access('operator')
  @HttpCode(200)
  changeMac(@Param('id') id: string, @Param('adapter') adapter: string, @Body() body: unknown, @CurrentActor() actor: Actor) {
    return this.agents.changeMac(actor, id, adapter, parseMacAction(requireObject(body)));
  }

  @Post('enrollment-tokens')
  @Access('operator')
  async createEnrollmentToken(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const ttl = optionalInt(requireObject(body ?? {}).ttlSeconds, 'ttlSeconds', 60, 30 * 86400);
    const token = await this.agents.createEnrollmentToken(actor, ttl);
    return { ...token, expiresAt: token.expiresAt.toISOString() };
  }
}

function parseFilter(q: Record<string, string | undefined>): AgentFilter {
  return {
    search: q.search || undefined,
    online: parseBoolean(q.online, 'online'),
    group: q.group || undefined,
    label: q.label || undefined,
    edition: parseEdition(q.edition),
    drift: parseBoolean(q.drift, 'drift'),
  };
}

function parseBoolean(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false') throw new ValidationError(field, 'INVALID_ENUM', 'must be true or false');
  return value === 'true';
}
