import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { simulatedHostname, simulatedInventory, SIM_PLATFORM, SIM_VERSION } from '../fleet-sim/inventory';
import type { AgentIdentity } from '../fleet-sim';

/**
 * Agents written straight into the `agents` table in the shape enrollment + Hello leave them, with
 * credentials the simulator can connect with (the controller stores sha256 hex of the secret,
 * controller/src/auth/secret-token.ts). For measuring what comes after enrollment at a scale the
 * enrollment path cannot reach in reasonable time. Each gets the seat enrollment would have given
 * it (`edition`, by default the trial's, which has no seat limit: the benchmarks run on the trial).
 */
export async function seedAgents(db: Pool, options: { count: number; hostnamePrefix: string; firstIndex?: number; edition?: string }): Promise<AgentIdentity[]> {
  const { count, hostnamePrefix, firstIndex = 0, edition = 'trial' } = options;
  const identities: AgentIdentity[] = [];
  for (let first = 0; first < count; first += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - first) }, (_, i) => {
      const index = firstIndex + first + i;
      const hostname = simulatedHostname(hostnamePrefix, index);
      return { index, hostname, credential: randomBytes(24).toString('base64url'), adapters: JSON.stringify(simulatedInventory(index, hostname).adapters) };
    });
    const { rows } = await db.query<{ id: string; hostname: string }>(
      `INSERT INTO agents (id, name, hostname, platform, version, credential_hash, adapters, last_seen_at, edition)
       SELECT gen_random_uuid(), h, h, $4, $5, c, a::jsonb, now(), $6 FROM unnest($1::text[], $2::text[], $3::text[]) AS s(h, c, a)
       RETURNING id, hostname`,
      [batch.map((b) => b.hostname), batch.map((b) => sha256Hex(b.credential)), batch.map((b) => b.adapters), SIM_PLATFORM, SIM_VERSION, edition],
    );
    const ids = new Map(rows.map((r) => [r.hostname, r.id]));
    for (const b of batch) identities.push({ index: b.index, hostname: b.hostname, agentId: ids.get(b.hostname)!, credential: b.credential });
  }
  return identities;
}

function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
