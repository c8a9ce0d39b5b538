import { isTransientConflict, retryTransientConflict, sqlState } from './transient-conflict';

// The shape Prisma 7 gives a raw query that PostgreSQL failed (P2010 around the driver's SQLSTATE).
const prismaError = (code: string) => Object.assign(new Error('Raw query failed'), { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: code } } } });
const pgError = (code: string) => Object.assign(new Error('pg'), { code });

describe('transient conflicts', () => {
  it('reads the SQLSTATE from a Prisma raw-query error and from a node-postgres error', () => {
    expect(sqlState(prismaError('40P01'))).toBe('40P01');
    expect(sqlState(pgError('40001'))).toBe('40001');
    expect(sqlState(new Error('no code'))).toBeUndefined();
    expect(sqlState(Object.assign(new Error(), { code: 'ECONNRESET' }))).toBeUndefined();
  });

  it('only deadlocks and serialization failures are transient', () => {
    expect(isTransientConflict(prismaError('40P01'))).toBe(true);
    expect(isTransientConflict(pgError('40001'))).toBe(true);
    expect(isTransientConflict(pgError('23505'))).toBe(false);
    expect(isTransientConflict(prismaError('57014'))).toBe(false);
    // A model query in an interactive transaction: Prisma reports its own code, not the SQLSTATE.
    expect(isTransientConflict(Object.assign(new Error('Transaction failed due to a write conflict or a deadlock'), { code: 'P2034' }))).toBe(true);
    expect(isTransientConflict(Object.assign(new Error('Record not found'), { code: 'P2025' }))).toBe(false);
  });

  it('writes again after a deadlock and returns what the write that committed returned', async () => {
    let calls = 0;
    const retries: string[] = [];
    const result = await retryTransientConflict(
      async () => {
        calls++;
        if (calls < 3) throw prismaError('40P01');
        return 'written';
      },
      ({ sqlState: s, attempt }) => retries.push(`${s}#${attempt}`),
    );
    expect(result).toBe('written');
    expect(retries).toEqual(['40P01#1', '40P01#2']);
  });

  it('gives up after five attempts, and at once on any other error', async () => {
    let calls = 0;
    await expect(retryTransientConflict(async () => { calls++; throw pgError('40001'); }, () => undefined)).rejects.toMatchObject({ code: '40001' });
    expect(calls).toBe(5);
    calls = 0;
    await expect(retryTransientConflict(async () => { calls++; throw pgError('23505'); }, () => undefined)).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);
  });
});
