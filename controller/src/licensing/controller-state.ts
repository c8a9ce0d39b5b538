import type { Db } from '../db/prisma.service';

/**
 * A value the controller decides once and keeps (trial start, signing key): the first writer wins,
 * so two controllers starting on one database agree.
 */
export async function keepOnce(db: Db, key: string, make: () => string): Promise<string> {
  await db.controllerState.createMany({ data: [{ key, value: make() }], skipDuplicates: true });
  return (await db.controllerState.findUniqueOrThrow({ where: { key } })).value;
}
