// Prisma CLI configuration. The CLI is used offline for `generate` only; the
// server applies prisma/migrations itself at start-up (src/db/migrate.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/nexus' },
});
