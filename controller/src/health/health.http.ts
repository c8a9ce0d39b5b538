import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.decorator';
import { PrismaService } from '../db/prisma.service';

@Controller()
export class HealthHttp {
  constructor(private readonly db: PrismaService) {}

  @Get('healthz')
  @Access('public')
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    if (await this.db.ping()) return { status: 'ok' };
    reply.status(503);
    return { status: 'unavailable', reason: 'database does not answer' };
  }
}
