import type { PrismaService } from '../db/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { PushError } from './pushes.errors';

/** How long a push transaction may wait for a connection, and run. */
export interface TransactionLimits {
  maxWait: number;
  timeout: number;
}

/** A few row-sized statements (a rollout step, a retry, an abort): waits out a busy pool, runs briefly. */
export const SMALL_TRANSACTION: TransactionLimits = { maxWait: 10_000, timeout: 15_000 };
/** Push creation: a few set-based statements, legitimately long for thousands of targets. */
export const CREATE_TRANSACTION: TransactionLimits = { maxWait: 10_000, timeout: 60_000 };

/**
 * `$transaction` with explicit limits. Prisma's P2028 (no connection within `maxWait`, or the
 * transaction outlived `timeout`) means the database is overloaded, not that the request is
 * wrong: it becomes PushError.busy, which the transports answer as retryable.
 */
export async function pushTransaction<T>(db: PrismaService, limits: TransactionLimits, work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  try {
    return await db.$transaction(work, limits);
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2028') throw PushError.busy(err.message);
    throw err;
  }
}
