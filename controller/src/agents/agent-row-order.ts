import { uuidArray } from '../db/array-params';
import { Prisma } from '../generated/prisma/client';

/**
 * A subquery that locks the given agents' rows in id order. Every batched writer of `agents` rows
 * (the activity writer, acks, presence, push creation) takes them in this one order, so two
 * batches — on one replica or two — cannot deadlock. Use as `WHERE id IN (${agentRowsInIdOrder(ids)})`.
 */
export function agentRowsInIdOrder(ids: readonly string[] | Prisma.Sql): Prisma.Sql {
  // `ids`: the ids, or a subquery naming them (a data-modifying CTE's RETURNING).
  const named = ids instanceof Prisma.Sql ? Prisma.sql`IN (${ids})` : Prisma.sql`= ANY(${uuidArray(ids)}::uuid[])`;
  return Prisma.sql`SELECT id FROM agents WHERE id ${named} ORDER BY id FOR NO KEY UPDATE`;
}
