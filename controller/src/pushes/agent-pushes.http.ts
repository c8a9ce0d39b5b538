import { Controller, Get, Param, Query } from '@nestjs/common';
import { AgentsService } from '../agents/agents.service';
import { Access } from '../auth/access.decorator';
import { isTimeIdKey, pageRequest } from '../paging/page';
import { PushesService } from './pushes.service';

/** `GET /api/agents/:id/pushes`: one agent's push history (lives here: pushes know agents, not the reverse). */
@Controller('api/agents')
export class AgentPushesHttp {
  constructor(
    private readonly agents: AgentsService,
    private readonly pushes: PushesService,
  ) {}

  @Get(':id/pushes')
  @Access('viewer')
  async history(@Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const agent = await this.agents.find(id, 'id');
    const page = await this.pushes.history(agent.id, pageRequest(limit, cursor, isTimeIdKey));
    return { pushes: page.items, nextCursor: page.nextCursor };
  }
}
