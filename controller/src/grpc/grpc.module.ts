import { Module } from '@nestjs/common';
import { ActivityModule } from '../activity/activity.module';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { PushesModule } from '../pushes/pushes.module';
import { RuleSetsModule } from '../rulesets/rulesets.module';
import { AgentServiceGrpc } from './agent-service.grpc';
import { AutomationServiceGrpc } from './automation-service.grpc';
import { GrpcServer } from './grpc-server';

@Module({
  imports: [AuthModule, AgentsModule, RuleSetsModule, PushesModule, ActivityModule],
  providers: [AgentServiceGrpc, AutomationServiceGrpc, GrpcServer],
  exports: [GrpcServer],
})
export class GrpcModule {}
