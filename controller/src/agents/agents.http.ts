import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import type { Actor } from '../auth/actor';
import { Access, CurrentActor } from '../auth/access.decorator';
import { optionalInt, requireObject } from '../errors/request-fields';
import { AgentsService } from './agents.service';

@Controller('api')
export class AgentsHttp {
  constructor(private readonly agents: AgentsService) {}

  @Get('agents')
  @Access('viewer')
  async list() {
    return { agents: await this.agents.list() };
  }

  @Get('agents/:id')
  @Access('viewer')
  get(@Param('id') id: string) {
    return this.agents.get(id);
  }

  @Post('enrollment-tokens')
  @Access('operator')
  async createEnrollmentToken(@Body() body: unknown, @CurrentActor() actor: Actor) {
    const ttl = optionalInt(requireObject(body ?? {}).ttlSeconds, 'ttlSeconds', 60, 30 * 86400);
    const token = await this.agents.createEnrollmentToken(actor, ttl);
    return { ...token, expiresAt: token.expiresAt.toISOString() };
  }
}
