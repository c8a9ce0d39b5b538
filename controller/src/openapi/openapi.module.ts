import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { OpenApiHttp } from './openapi.http';
import { OpenApiService } from './openapi.service';

@Module({ imports: [DiscoveryModule], controllers: [OpenApiHttp], providers: [OpenApiService], exports: [OpenApiService] })
export class OpenApiModule {}
