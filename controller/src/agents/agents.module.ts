import { Module } from '@nestjs/common';
import { AdapterCommands } from './adapter-commands';
import { AgentStreams } from './agent-streams';
import { AgentsHttp } from './agents.http';
import { AgentPresence } from './agent-presence';
import { AgentsService } from './agents.service';
import { ReplicaPresence } from './replica-presence';

@Module({ controllers: [AgentsHttp], providers: [AgentsService, AgentPresence, AgentStreams, AdapterCommands, ReplicaPresence], exports: [AgentsService, AgentPresence, AgentStreams, AdapterCommands, ReplicaPresence] })
export class AgentsModule {}
