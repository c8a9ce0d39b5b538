import type { OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client';

/**
 * Connections the Prisma pool keeps open however long it idles: a push after a quiet spell needs
 * about this many at once (its transaction, the delivered marks, the live events), and opening one
 * costs a SCRAM handshake on the event loop while the push is being sent.
 */
const WARM_CONNECTIONS = 4;

/** The Prisma 7 client over node-postgres (no native engine). */
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  /** The URL is kept for the few paths that talk to PostgreSQL without Prisma (the activity writer). */
  constructor(readonly databaseUrl: string) {
    super({ adapter: new PrismaPg({ connectionString: databaseUrl, min: WARM_CONNECTIONS }) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }

  /** True when the database answers. */
  async ping(): Promise<boolean> {
    try {
      await this.$queryRaw`SELECT 1`;
      return true;
    } catch {
      return false;
    }
  }
}

/** What services accept so they can run inside a caller's transaction or on their own. */
export type Db = PrismaService | Prisma.TransactionClient;
