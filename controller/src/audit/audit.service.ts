import { Injectable } from '@nestjs/common';
import type { Db } from '../db/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import type { Actor } from '../auth/actor';

export interface AuditRecord {
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

/** Every mutation writes one row, inside the mutation's own transaction. */
@Injectable()
export class AuditService {
  async record(db: Db, actor: Actor, entry: AuditRecord): Promise<void> {
    await db.auditEntry.create({
      data: {
        actor: actor.label,
        action: entry.action,
        target: entry.target,
        before: toJson(entry.before),
        after: toJson(entry.after),
      },
    });
  }

  /** Newest first, keyset-paged by id; `target` filters by prefix. */
  async list(db: Db, filter: { action?: string; actor?: string; target?: string }, limit = 100, beforeId?: bigint) {
    return db.auditEntry.findMany({
      where: {
        ...(filter.action && { action: filter.action }),
        ...(filter.actor && { actor: filter.actor }),
        ...(filter.target && { target: { startsWith: filter.target } }),
        ...(beforeId !== undefined && { id: { lt: beforeId } }),
      },
      orderBy: { id: 'desc' },
      take: limit,
    });
  }
}

function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as Prisma.InputJsonValue);
}
