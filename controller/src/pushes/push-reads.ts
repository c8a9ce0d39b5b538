import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';

/**
 * The push reads that return a row per target (the agents a push selects, the targets of its
 * view), on their own node-postgres connections: Prisma's `$queryRaw` maps each of 10,000 rows
 * through its query interpreter, 2-3x node-postgres's time, and the view of a new push is read
 * while its acks arrive on the same event loop. Plain reads: no transaction needs them.
 */
@Injectable()
export class PushReads implements OnModuleInit, OnModuleDestroy {
  readonly pool: Pool;

  constructor(
    db: PrismaService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Kept open (no idle timeout) and opened at start: pushes are rare, and a connection opened by
    // the push call costs its handshake round trips on the push's path.
    this.pool = new Pool({ connectionString: db.databaseUrl, max: 2, idleTimeoutMillis: 0, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
    // A backend killed while a connection is idle (PostgreSQL restarting) must not crash the process.
    this.pool.on('error', (err) => logger.warn({ err }, 'push reads: idle connection lost'));
  }

  async onModuleInit(): Promise<void> {
    try {
      (await this.pool.connect()).release();
    } catch (err) {
      this.logger.warn({ err }, 'push reads: could not open a connection yet (opened by the first push)');
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.race([this.pool.end(), sleep(1_000)]);
  }
}
