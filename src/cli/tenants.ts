// migrate, tenant:list, tenant:erase and usage: the operator's view of the tenants, what they cost, and the one way
// to remove one for good from the command line (the same erasure as the owner's deleteTenant).
import type { Command } from 'commander';
import { assertKey } from '../auth/identifiers.js';
import { createLogger } from '../log/logger.js';
import { createEventBus } from '../server/event-bus.js';
import { eraseTenant } from '../tenancy/erasure.js';
import { measureUsage, type TenantUsage } from '../tenancy/usage.js';
import { createObjectStorage } from '../vectors/objects.js';
import { CliError, type CliContext } from './context.js';
import { table, when } from './format.js';
import { withStores } from './indexes.js';

const bytes = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export function registerTenantCommands(program: Command, cli: CliContext): void {
  const { output } = cli;

  program
    .command('migrate')
    .description('apply pending database migrations (the gateway also applies them at start-up) and list what is applied')
    .action(async () => {
      await cli.withDatabase(async (db) => {
        const { applied, modified } = db.migrations;
        output.out(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply: the database is up to date\n');
        if (modified.length) output.err(`nexus: warning: applied migrations edited afterwards: ${modified.join(', ')}\n`);
      });
    });

  program
    .command('tenant:list')
    .description('list the tenants: id, email, domains, surfaces, balance, created (with --by-bytes, their storage, largest first)')
    .option('--by-bytes', "measure each tenant's storage (lists every object: slow on a large bucket) and sort by it")
    .action(async (options: { byBytes?: boolean }) => {
      await cli.withDatabase(async (db) => {
        const tenants = await db.prisma.tenant.findMany({
          orderBy: { createdAt: 'asc' },
          select: { id: true, createdAt: true, identity: { select: { email: true } }, wallet: { select: { balance: true } }, _count: { select: { domains: true, surfaces: true } } },
        });
        const cells = (t: (typeof tenants)[number]) => [t.id, t.identity?.email ?? '', String(t._count.domains), String(t._count.surfaces), String(t.wallet?.balance ?? 0n), when(t.createdAt)];
        if (!options.byBytes) {
          output.out(table(['tenant', 'email', 'domains', 'surfaces', 'balance', 'created'], tenants.map(cells)));
          return;
        }
        const config = cli.config();
        const objects = createObjectStorage(config.storageUri, config.s3);
        try {
          const usages = await withStores(cli, db, async (vectors) => {
            const measured: TenantUsage[] = [];
            for (const [i, t] of tenants.entries()) {
              if (tenants.length > 20 && i % 20 === 0) output.err(`nexus: measured ${i} of ${tenants.length} tenants …\n`);
              measured.push(await measureUsage({ db, vectors, objects }, t.id));
            }
            return measured;
          });
          const rows = tenants.map((t, i) => ({ t, u: usages[i] as TenantUsage })).sort((a, b) => b.u.bytes - a.u.bytes);
          output.out(table(['tenant', 'email', 'domains', 'surfaces', 'balance', 'created', 'records', 'bytes'], rows.map(({ t, u }) => [...cells(t), String(u.records), bytes(u.bytes)])));
        } finally {
          objects.close();
        }
      });
    });

  program
    .command('usage')
    .description("one tenant's records and stored bytes, store by store")
    .argument('<tenant>', 'tenant id')
    .action(async (tenantId: string) => {
      assertKey(tenantId, 'tenant id');
      await cli.withDatabase(async (db) => {
        if (!(await db.prisma.tenant.findUnique({ where: { id: tenantId }, select: { id: true } }))) throw new CliError(`no tenant ${tenantId}`);
        const config = cli.config();
        const objects = createObjectStorage(config.storageUri, config.s3);
        try {
          const usage = await withStores(cli, db, (vectors) => measureUsage({ db, vectors, objects }, tenantId));
          const rows = usage.stores.map((s) => [s.scope, s.key ?? '', String(s.records), String(s.files), bytes(s.bytes)]);
          rows.push(['total', '', String(usage.records), String(usage.stores.reduce((n, s) => n + s.files, 0)), bytes(usage.bytes)]);
          output.out(table(['scope', 'key', 'records', 'files', 'bytes'], rows));
        } finally {
          objects.close();
        }
      });
    });

  program
    .command('tenant:erase')
    .description('erase a tenant for good: its tokens stop at once, then every stored object and every row go (resumed at the next start-up if interrupted)')
    .argument('<tenant>', 'tenant id')
    .action(async (tenantId: string) => {
      assertKey(tenantId, 'tenant id');
      await cli.withDatabase(async (db) => {
        const config = cli.config();
        const objects = createObjectStorage(config.storageUri, config.s3);
        // Gateways sharing this database forget the tenant's tokens at once: told as the API's own erasure tells them.
        const events = await createEventBus(config.redisUrl, createLogger('silent'), {
          retention: { ms: config.events.retentionMs, events: config.events.retentionEvents },
          databaseUrl: config.databaseUrl,
          notify: (channel, payload) => db.prisma.$executeRaw`SELECT pg_notify(${channel}, ${payload})`,
        });
        try {
          const exists = await db.prisma.tenant.count({ where: { id: tenantId } });
          const pending = await db.prisma.erasure.count({ where: { tenantId } });
          if (!exists && !pending) throw new CliError(`no tenant ${tenantId} (nothing to erase)`);
          const report = await withStores(cli, db, (vectors) =>
            eraseTenant({ db, vectors, objects, events }, tenantId, 'operator', (removed) => output.err(`nexus: ${removed} objects removed …\n`)),
          );
          output.out(`erased ${tenantId}: ${report.objects} objects removed, every row deleted (${(report.ms / 1000).toFixed(1)} s)\n`);
        } finally {
          await events.close();
          objects.close();
        }
      });
    });
}
