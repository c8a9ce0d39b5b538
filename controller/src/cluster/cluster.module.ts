import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CLUSTER_DATABASE_URL, ClusterBus } from './cluster-bus';

/** ClusterBus for every module: messages between the controller replicas on one database. */
@Global()
@Module({})
export class ClusterModule {
  static forRoot(databaseUrl: string): DynamicModule {
    return {
      module: ClusterModule,
      providers: [{ provide: CLUSTER_DATABASE_URL, useValue: databaseUrl }, ClusterBus],
      exports: [ClusterBus],
    };
  }
}
