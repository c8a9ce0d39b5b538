import { Controller, Get, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { ValidationError } from '../errors/domain-error';
import { PrismaService } from '../db/prisma.service';
import { AuditService } from './audit.service';

@Controller('api/audit')
export class AuditHttp {
  constructor(
    private readonly audit: AuditService,
    private readonly db: PrismaService,
  ) {}

  @Get()
  @Access('admin')
  async list(@Query('limit') limit?: string) {
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ValidationError('limit', 'OUT_OF_RANGE', 'must be an integer 1-1000');
    const entries = await this.audit.list(this.db, n);
    return {
      entries: entries.map((e) => ({
        id: e.id.toString(),
        actor: e.actor,
        action: e.action,
        target: e.target,
        before: e.before,
        after: e.after,
        createdAt: e.createdAt.toISOString(),
      })),
    };
  }
}
