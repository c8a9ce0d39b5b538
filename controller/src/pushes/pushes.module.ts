import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { RuleSetsModule } from '../rulesets/rulesets.module';
import { AckBatcher } from './ack-batcher';
import { CapabilitySnapshots } from './capability-snapshots';
import { PushDelivery } from './push-delivery';
import { PushEvents } from './push-events';
import { PushReads } from './push-reads';
import { AgentPushesHttp } from './agent-pushes.http';
import { PushesHttp } from './pushes.http';
import { PushesService } from './pushes.service';

@Module({
  imports: [AgentsModule, RuleSetsModule],
  controllers: [PushesHttp, AgentPushesHttp],
  providers: [PushesService, PushDelivery, PushEvents, AckBatcher, CapabilitySnapshots, PushReads],
  exports: [PushesService, PushDelivery],
})
export class PushesModule {}
