import { Controller, Get } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { OpenApiService } from './openapi.service';

@Controller('api/openapi.json')
export class OpenApiHttp {
  constructor(private readonly openapi: OpenApiService) {}

  @Get()
  @Access('public')
  get() {
    return this.openapi.build();
  }
}
