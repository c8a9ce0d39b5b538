import { Module, type DynamicModule } from '@nestjs/common';
import { ActivityModule } from './activity/activity.module';
import { AgentsModule } from './agents/agents.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ClusterModule } from './cluster/cluster.module';
import { CoreModule, type CoreOptions } from './core.module';
import { EventsModule } from './events/events.module';
import { LicensingModule } from './licensing/licensing.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { UsersModule } from './users/users.module';
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
        ClusterModule.forRoot(options.databaseUrl),
        EventsModule,
        MetricsModule,
        AuditModule,
        LicensingModule,
        AuthModule,
        UsersModule,
        AgentsModule,
        RuleSetsModule,
        PushesModule,
        ActivityModule,
        HealthModule,
        OpenApiModule,
        GrpcModule,
      ],
    };
  }
}
