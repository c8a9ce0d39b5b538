import { Module } from '@nestjs/common';
import { HealthHttp } from './health.http';

@Module({ controllers: [HealthHttp] })
export class HealthModule {}
