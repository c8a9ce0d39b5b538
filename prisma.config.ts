// Used by the Prisma CLI (`prisma generate`, and `prisma migrate deploy` where the native engine
// exists). The controller itself never runs the CLI: it migrates with controller/src/db/migrate.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/portfleet' },
});
