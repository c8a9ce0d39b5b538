/**
 * SQLSTATEs of a statement that lost a lock race (deadlock detected, serialization failure):
 * PostgreSQL rolled it back whole, and running it again is expected to succeed.
 */
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001']);

/** Attempts in all (the first included) before the batch's callers get the error. */
const ATTEMPTS = 5;
const BACKOFF_BASE_MS = 10;

/** The SQLSTATE behind a node-postgres error or a Prisma raw-query error (P2010 wraps it). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
  const wrapped = e.meta?.driverAdapterError?.cause?.originalCode;
  if (typeof wrapped === 'string') return wrapped;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
}

/** Prisma's own code for a model query that deadlocked or failed to serialize (it drops the SQLSTATE). */
const PRISMA_WRITE_CONFLICT = 'P2034';

export function isTransientConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (TRANSIENT_SQLSTATES.has(state) || state === PRISMA_WRITE_CONFLICT);
}

/**
 * Runs a write again when it deadlocked or failed to serialize, after a short
 * jittered backoff (the other side of the cycle commits meanwhile; two batches that retried at
 * once do not meet again in step). Any other error, or the last attempt's, is the caller's. The
 * write is one statement or one whole transaction: PostgreSQL rolled it back entirely.
 */
export async function retryTransientConflict<T>(
  write: () => Promise<T>,
  onRetry: (info: { sqlState: string; attempt: number; waitMs: number; error: unknown }) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= ATTEMPTS || !isTransientConflict(error)) throw error;
      const waitMs = Math.round(BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
      onRetry({ sqlState: sqlState(error)!, attempt, waitMs, error });
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
