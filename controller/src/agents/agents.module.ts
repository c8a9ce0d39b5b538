import { Module } from '@nestjs/common';
import { AgentStreams } from './agent-streams';
import { AgentsHttp } from './agents.http';
import { AgentsService } from './agents.service';

@Module({ controllers: [AgentsHttp], providers: [AgentsService, AgentStreams], exports: [AgentsService, AgentStreams] })
export class AgentsModule {}
