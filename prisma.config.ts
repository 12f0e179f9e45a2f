// Prisma CLI configuration. Offline, the CLI generates the client and, through
// scripts/schema-engine.mjs, authors and checks migrations; the server applies
// prisma/migrations itself at start-up (src/db/migrate.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/nexus' },
});
