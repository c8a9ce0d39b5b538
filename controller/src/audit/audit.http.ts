import { Controller, Get, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { PrismaService } from '../db/prisma.service';
import { isNumberKey, pageRequest, toPage } from '../paging/page';
import { AuditService } from './audit.service';

@Controller('api/audit')
export class AuditHttp {
  constructor(
    private readonly audit: AuditService,
    private readonly db: PrismaService,
  ) {}

  @Get()
  @Access('admin')
  async list(@Query() q: Record<string, string | undefined>) {
    const page = pageRequest(q.limit === undefined ? '100' : q.limit, q.cursor, isNumberKey, 1000);
    const rows = await this.audit.list(
      this.db,
      { action: q.action || undefined, actor: q.actor || undefined, target: q.target || undefined },
      page.limit + 1,
      page.after === undefined ? undefined : BigInt(page.after),
    );
    const { items, nextCursor } = toPage(rows, page.limit, (e) => Number(e.id), (e) => ({
      id: e.id.toString(),
      actor: e.actor,
      action: e.action,
      target: e.target,
      before: e.before,
      after: e.after,
      createdAt: e.createdAt.toISOString(),
    }));
    return { entries: items, nextCursor };
  }
}
