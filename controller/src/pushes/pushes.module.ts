import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { RuleSetsModule } from '../rulesets/rulesets.module';
import { PushDelivery } from './push-delivery';
import { AgentPushesHttp } from './agent-pushes.http';
import { PushesHttp } from './pushes.http';
import { PushesService } from './pushes.service';

@Module({ imports: [AgentsModule, RuleSetsModule], controllers: [PushesHttp, AgentPushesHttp], providers: [PushesService, PushDelivery], exports: [PushesService, PushDelivery] })
export class PushesModule {}
