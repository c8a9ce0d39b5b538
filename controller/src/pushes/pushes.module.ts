import { Module } from '@nestjs/common';
import { AgentsModule } from '../agents/agents.module';
import { RuleSetsModule } from '../rulesets/rulesets.module';
import { PushesHttp } from './pushes.http';
import { PushesService } from './pushes.service';

@Module({ imports: [AgentsModule, RuleSetsModule], controllers: [PushesHttp], providers: [PushesService], exports: [PushesService] })
export class PushesModule {}
