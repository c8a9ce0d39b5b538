import { Module } from '@nestjs/common';
import { RuleSetsHttp } from './rulesets.http';
import { RuleSetsService } from './rulesets.service';

@Module({ controllers: [RuleSetsHttp], providers: [RuleSetsService], exports: [RuleSetsService] })
export class RuleSetsModule {}
