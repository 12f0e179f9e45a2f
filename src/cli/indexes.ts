// index:rebuild and index:status: the operator's view of the stores' ANN indexes. A rebuild retrains the index
// from every row now, whatever the thresholds say (after a bulk import, or to repartition a store that grew).
import type { Command } from 'commander';
import { assertKey } from '../auth/identifiers.js';
import type { Database } from '../db/create-database.js';
import { storageOptionsFor } from '../server/storage-options.js';
import { storeKey, type StoreRef } from '../vectors/layout.js';
import { createVectorStores, type VectorStores } from '../vectors/store.js';
import { CliError, type CliContext } from './context.js';
import { table } from './format.js';

/** The tenant's domain stores, all of them or the named ones (each must exist). */
async function domainStores(db: Database, tenantId: string, keys: readonly string[]): Promise<StoreRef[]> {
  assertKey(tenantId, 'tenant id');
  keys.forEach((k) => assertKey(k, 'domain key'));
  const tenant = await db.prisma.tenant.findUnique({ where: { id: tenantId }, select: { id: true, domains: { select: { key: true }, orderBy: { key: 'asc' } } } });
  if (!tenant) throw new CliError(`no tenant ${tenantId}`);
  const known = tenant.domains.map((d) => d.key);
  const missing = keys.find((k) => !known.includes(k));
  if (missing !== undefined) throw new CliError(`tenant ${tenantId} has no domain ${missing} (it has: ${known.join(', ') || 'none'})`);
  return (keys.length ? keys : known).map((domainKey) => ({ scope: 'DOMAIN', tenantId, domainKey }));
}

/** The stores on the deployment's configuration, for one CLI command; no index is built on its own here. */
export async function withStores<T>(cli: CliContext, db: Database, fn: (vectors: VectorStores) => Promise<T>, cacheSize = 4): Promise<T> {
  const config = cli.config();
  const vectors = createVectorStores({
    root: config.storageUri,
    dimension: config.vectorDimension,
    cacheSize,
    storageOptions: storageOptionsFor(config),
    withLock: db.withSharedLock,
    tryLock: db.tryWithSharedLock,
    // The operator's command builds; nothing here builds on its own.
    index: { ...config.index, minRows: Number.POSITIVE_INFINITY },
    text: config.text,
  });
  try {
    return await fn(vectors);
  } finally {
    await vectors.close();
  }
}

export function registerIndexCommands(program: Command, cli: CliContext): void {
  const { output } = cli;

  program
    .command('index:rebuild')
    .description("rebuild the ANN index of a tenant's domain stores now (all of them, or those named), whatever their size")
    .argument('<tenant>', 'tenant id')
    .argument('[domains...]', 'domain keys (default: every domain of the tenant)')
    .action(async (tenantId: string, keys: string[]) => {
      await cli.withDatabase(async (db) => {
        const stores = await domainStores(db, tenantId, keys);
        await withStores(cli, db, async (vectors) => {
          for (const store of stores) {
            output.err(`nexus: building the index of ${storeKey(store)} …\n`);
            const started = performance.now();
            const status = await vectors.rebuildIndex(store);
            const seconds = ((performance.now() - started) / 1000).toFixed(1);
            output.out(`${storeKey(store)}: ${status.state}, ${status.indexedRows} rows indexed, ${status.unindexedRows} not (${seconds} s)\n`);
          }
        });
      });
    });

  program
    .command('index:status')
    .description("show the index state of a tenant's domain stores")
    .argument('<tenant>', 'tenant id')
    .argument('[domains...]', 'domain keys (default: every domain of the tenant)')
    .action(async (tenantId: string, keys: string[]) => {
      await cli.withDatabase(async (db) => {
        const stores = await domainStores(db, tenantId, keys);
        const rows = await withStores(cli, db, async (vectors) =>
          Promise.all(stores.map(async (store) => ({ key: storeKey(store), status: await vectors.storeIndexStatus(store) }))),
        );
        output.out(table(['store', 'state', 'indexed', 'unindexed'], rows.map(({ key, status: s }) => [key, s.state, String(s.indexedRows), String(s.unindexedRows)])));
      });
    });
}
