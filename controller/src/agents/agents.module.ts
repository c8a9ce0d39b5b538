import { Module } from '@nestjs/common';
import { AdapterCommands } from './adapter-commands';
import { AgentStreams } from './agent-streams';
import { AgentsHttp } from './agents.http';
import { AgentsService } from './agents.service';

@Module({ controllers: [AgentsHttp], providers: [AgentsService, AgentStreams, AdapterCommands], exports: [AgentsService, AgentStreams, AdapterCommands] })
export class AgentsModule {}
