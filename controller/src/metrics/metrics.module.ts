import { Global, Module } from '@nestjs/common';
import { MetricsHttp } from './metrics.http';
import { MetricsService } from './metrics.service';

@Global()
@Module({ controllers: [MetricsHttp], providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}
