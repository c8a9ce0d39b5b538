import { Module } from '@nestjs/common';
import { ActivityModule } from '../activity/activity.module';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { EventsModule } from '../events/events.module';
import { PushesModule } from '../pushes/pushes.module';
import { RuleSetsModule } from '../rulesets/rulesets.module';
import { AgentServiceGrpc } from './agent-service.grpc';
import { AutomationServiceGrpc } from './automation-service.grpc';
import { GrpcServer } from './grpc-server';
import { AgentTls } from '../tls/agent-tls';

@Module({
  imports: [AuthModule, AgentsModule, RuleSetsModule, PushesModule, ActivityModule, EventsModule],
  providers: [AgentServiceGrpc, AutomationServiceGrpc, GrpcServer, AgentTls],
  exports: [GrpcServer],
})
export class GrpcModule {}
