import { Module, type DynamicModule } from '@nestjs/common';
import { ActivityModule } from './activity/activity.module';
import { AgentsModule } from './agents/agents.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CoreModule, type CoreOptions } from './core.module';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { PushesModule } from './pushes/pushes.module';
import { RuleSetsModule } from './rulesets/rulesets.module';

@Module({})
export class AppModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(options),
        AuditModule,
        AuthModule,
        AgentsModule,
        RuleSetsModule,
        PushesModule,
        ActivityModule,
        HealthModule,
        GrpcModule,
      ],
    };
  }
}
