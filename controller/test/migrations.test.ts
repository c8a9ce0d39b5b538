import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS_DIR, applyMigrations, diffDatabaseToSchema } from '../src/db/migrate';
import { startTestPostgres } from './support/test-postgres';

jest.setTimeout(120_000);

describe('migrations (WebAssembly schema engine)', () => {
  let pg: Awaited<ReturnType<typeof startTestPostgres>>;
  let client: Client;

  beforeAll(async () => {
    pg = await startTestPostgres();
    client = new Client({ connectionString: pg.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await pg?.stop();
  });

  const folders = fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

  it('applies every migration folder to an empty database, once', async () => {
    expect(folders.length).toBeGreaterThan(0);
    expect(await applyMigrations(pg.url)).toEqual(folders);
    expect(await applyMigrations(pg.url)).toEqual([]);
  });

  it('records them as prisma migrate deploy does (name, sha256 checksum, finished)', async () => {
    const { rows } = await client.query('SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(folders);
    for (const row of rows) {
      const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('leaves a database that matches prisma/schema.prisma exactly', async () => {
    expect(await diffDatabaseToSchema(pg.url)).toBe('');
  });

  it('notices when the database drifts from the schema', async () => {
    await client.query('ALTER TABLE agents ADD COLUMN drift integer');
    try {
      expect(await diffDatabaseToSchema(pg.url)).toMatch(/ALTER TABLE "agents" DROP COLUMN "drift"/);
    } finally {
      await client.query('ALTER TABLE agents DROP COLUMN drift');
    }
  });

  it('has an index on every foreign key', async () => {
    const { rows } = await client.query(`
      SELECT c.conrelid::regclass::text AS tbl, c.conname
        FROM pg_constraint c
       WHERE c.contype = 'f'
         AND NOT EXISTS (
           SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)`);
    expect(rows).toEqual([]);
  });

  it('deletes the targets of deleted agents and pushes (statement triggers: push_targets has no foreign keys)', async () => {
    const one = (sql: string, values: unknown[] = []) => client.query(sql, values).then((r) => r.rows[0].id as string);
    const ruleSet = await one(`INSERT INTO rule_sets (id, name) VALUES (gen_random_uuid(), 'cascade') RETURNING id`);
    await client.query(`INSERT INTO rule_set_versions (rule_set_id, version, rules, settings, content_hash, created_by) VALUES ($1, 1, '[]', '{}', 'h', 't')`, [ruleSet]);
    const push = () => one(`INSERT INTO pushes (id, rule_set_id, version, created_by) VALUES (gen_random_uuid(), $1, 1, 't') RETURNING id`, [ruleSet]);
    const agent = (name: string) => one(`INSERT INTO agents (id, name, hostname, platform, version, credential_hash) VALUES (gen_random_uuid(), $1, $1, 'linux', '1', 'x') RETURNING id`, [name]);
    const [p1, p2] = [await push(), await push()];
    const [a, b, c] = [await agent('a'), await agent('b'), await agent('c')];
    for (const p of [p1, p2]) await client.query(`INSERT INTO push_targets (push_id, agent_id) SELECT $1, unnest($2::uuid[])`, [p, [a, b, c]]);
    const targets = async () => (await client.query(`SELECT push_id, agent_id FROM push_targets ORDER BY 1, 2`)).rows.map((r) => `${r.push_id === p1 ? 'p1' : 'p2'}/${{ [a]: 'a', [b]: 'b', [c]: 'c' }[r.agent_id as string]}`).sort();

    await client.query('DELETE FROM agents WHERE id = ANY($1::uuid[])', [[a, b]]);
    expect(await targets()).toEqual(['p1/c', 'p2/c']);
    await client.query('DELETE FROM pushes WHERE id = $1', [p1]);
    expect(await targets()).toEqual(['p2/c']);
    // A delete of nothing deletes nothing.
    await client.query(`DELETE FROM agents WHERE name = 'none'`);
    expect(await targets()).toEqual(['p2/c']);
    await client.query('DELETE FROM rule_sets WHERE id = $1', [ruleSet]); // cascades to its pushes, then their targets
    expect(await targets()).toEqual([]);
    await client.query('DELETE FROM agents WHERE id = $1', [c]);
  });
});
