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
});
