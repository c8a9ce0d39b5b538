import { Controller, Get, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ActivityService } from './activity.service';

@Controller('api/activity')
export class ActivityHttp {
  constructor(private readonly activity: ActivityService) {}

  @Get()
  @Access('viewer')
  async totals(@Query('agentId') agentId?: string, @Query('ruleId') ruleId?: string) {
    return { totals: await this.activity.totals({ agentId: agentId || undefined, ruleId: ruleId || undefined }) };
  }
}
