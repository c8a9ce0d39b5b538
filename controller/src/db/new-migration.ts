/**
 * `npm run -w @portfleet/controller migration:new -- <name>`: writes
 * prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that takes a database holding
 * all existing migrations to prisma/schema.prisma (what `prisma migrate dev --create-only` does,
 * without the native engine). Runs on a throwaway embedded PostgreSQL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { EmbeddedPostgres } from './embedded-postgres';
import { MIGRATIONS_DIR, applyMigrations, diffDatabaseToSchema } from './migrate';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    process.stderr.write('usage: new-migration <name: lowercase letters, digits, underscores>\n');
    process.exit(2);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-migration-'));
  fs.chmodSync(tmp, 0o755);
  const pg = await EmbeddedPostgres.start({ dir: path.join(tmp, 'postgres'), logger: pino({ level: 'warn' }) });
  try {
    await applyMigrations(pg.url);
    const sql = await diffDatabaseToSchema(pg.url);
    if (sql === '') {
      process.stdout.write('prisma/schema.prisma matches the migrations; nothing to write\n');
      return;
    }
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const folder = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'migration.sql'), `${sql}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), folder)}/migration.sql\n`);
  } finally {
    await pg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
