import { Injectable } from '@nestjs/common';
import type { Db } from '../db/prisma.service';
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
  /**
   * Each value is serialised once and the row is not read back: a push's row lists every agent it
   * targets (10,000 ids, ~0.4 MB), which Prisma's create copied, serialised and parsed back again.
   */
  async record(db: Db, actor: Actor, entry: AuditRecord): Promise<void> {
    await db.$executeRaw`
      INSERT INTO audit_log (actor, action, target, before, after)
      VALUES (${actor.label}, ${entry.action}, ${entry.target}, ${jsonText(entry.before)}::jsonb, ${jsonText(entry.after)}::jsonb)`;
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

/** Absent is SQL NULL. */
function jsonText(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
