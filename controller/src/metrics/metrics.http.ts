import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.decorator';
import { MetricsService } from './metrics.service';

@Controller('metrics')
export class MetricsHttp {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Access('public')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
