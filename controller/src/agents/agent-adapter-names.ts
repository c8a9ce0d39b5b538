import type { PrismaService } from '../db/prisma.service';

/** Suggestions, not an inventory: a fleet of containers may name thousands of veths. */
export const MAX_ADAPTER_NAMES = 1000;

/**
 * `GET /api/agents/adapter-names`: the adapter names enrolled agents reported, distinct and sorted,
 * for the rule editor's adapter inputs (it read every page of the fleet for them: 20 requests and
 * ~10 MB at 10,000 agents). One statement over the agents' inventories.
 */
export async function adapterNames(db: PrismaService): Promise<string[]> {
  const rows = await db.$queryRaw<{ name: string }[]>`
    SELECT DISTINCT a->>'name' AS name
      FROM agents, jsonb_array_elements(CASE WHEN jsonb_typeof(adapters) = 'array' THEN adapters ELSE '[]'::jsonb END) a
     WHERE retired_at IS NULL AND a->>'name' <> ''
     ORDER BY 1 LIMIT ${MAX_ADAPTER_NAMES}`;
  return rows.map((r) => r.name);
}
