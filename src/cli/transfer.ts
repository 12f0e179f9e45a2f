// tenant:export and tenant:import: a person's whole tenant as JSON Lines (src/tenancy/export-lines.ts) to a file,
// stdout or s3://bucket/key, and back into a fresh tenant of this deployment (a new id and a new owner token).
import type { Command } from 'commander';
import { assertKey, normaliseEmail } from '../auth/identifiers.js';
import { ConflictError } from '../errors.js';
import { ExportFileError, type ExportLine } from '../tenancy/export-lines.js';
import { exportLines, exportText } from '../tenancy/export.js';
import { importTenant } from '../tenancy/import.js';
import { createObjectStorage } from '../vectors/objects.js';
import { storeKey } from '../vectors/layout.js';
import { CliError, EXIT, processOutput, type CliContext } from './context.js';
import { wholeNumber } from './format.js';
import { withStores } from './indexes.js';
import { exportSource, writeAll, writeExport } from './transfer-files.js';

// Open table handles for an export or import: it moves through a tenant's stores one after another.
const TRANSFER_CACHE = 8;

/** The lines as they pass: a note on stderr every `every` records, and the end line's counts kept. */
async function* watched(lines: AsyncIterable<ExportLine>, every: number, note: (records: number) => void, end: { records?: number; ledgerEntries?: number }): AsyncGenerator<ExportLine> {
  let records = 0;
  for await (const line of lines) {
    if (line.type === 'record' && ++records % every === 0) note(records);
    if (line.type === 'end') Object.assign(end, { records: line.records, ledgerEntries: line.ledgerEntries });
    yield line;
  }
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

export function registerTransferCommands(program: Command, cli: CliContext): void {
  const { output } = cli;

  program
    .command('tenant:export')
    .description("write everything a tenant owns as JSON Lines: identity, domains, surfaces, mounts, wallet, the whole ledger and every record of every store, vectors included (never a token)")
    .argument('<tenant>', 'tenant id')
    .argument('[file]', 'a file path (written whole, then renamed into place), s3://bucket/key, or - for stdout (the default)')
    .option('--progress <n>', 'a note on stderr every n records', wholeNumber(1, 1_000_000_000), 50_000)
    .action(async (tenantId: string, file: string | undefined, options: { progress: number }) => {
      assertKey(tenantId, 'tenant id');
      const target = file === undefined || file === '-' ? null : file;
      const config = cli.config();
      const started = performance.now();
      const end: { records?: number; ledgerEntries?: number } = {};
      await cli.withDatabase((db) =>
        withStores(cli, db, async (vectors) => {
          const lines = exportLines({ prisma: db.prisma, vectors, vectorDimension: config.vectorDimension }, tenantId);
          const text = exportText(watched(lines, options.progress, (n) => output.err(`nexus: ${n} records exported (${seconds(started)} s)\n`), end));
          if (target) await writeExport(target, text, config.s3);
          // On a terminal or a pipe, as fast as it reads; captured output (tests) takes it line by line.
          else if (output === processOutput) await writeAll(text, process.stdout);
          else for await (const chunk of text) output.out(chunk);
        }, TRANSFER_CACHE),
      );
      output.err(`nexus: exported tenant ${tenantId}: ${end.records ?? 0} records, ${end.ledgerEntries ?? 0} ledger entries${target ? ` to ${target}` : ''} (${seconds(started)} s)\n`);
    });

  program
    .command('tenant:import')
    .description('restore an export into a new tenant here: a new tenant id and owner token (printed once); the same identity, domains, surfaces, mounts, wallet, ledger and records')
    .argument('<file>', 'the export: a file path or s3://bucket/key (read twice: checked whole, then imported)')
    .option('--email <address>', "the imported identity's email, when the export's belongs to a tenant here already")
    .option('--progress <n>', 'a note on stderr every n records', wholeNumber(1, 1_000_000_000), 50_000)
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { email?: string; progress: number; json?: boolean }) => {
      const email = options.email === undefined ? undefined : normaliseEmail(options.email);
      const config = cli.config();
      const source = await exportSource(file, config.s3);
      const started = performance.now();
      let noted = 0;
      const onProgress = (records: number, total: number) => {
        if (records - noted < options.progress && records < total) return;
        noted = records;
        output.err(`nexus: ${records} of ${total} records imported (${seconds(started)} s)\n`);
      };
      const objects = createObjectStorage(config.storageUri, config.s3);
      try {
        await cli.withDatabase((db) =>
          withStores(cli, db, async (vectors) => {
            const { stores, ...report } = await importTenant({ prisma: db.prisma, vectors, objects, vectorDimension: config.vectorDimension }, source.lines, { email, onProgress });
            if (options.json) output.out(`${JSON.stringify(report, null, 2)}\n`);
            else output.out(`tenant       ${report.tenantId}\nemail        ${report.email}\nowner token  ${report.ownerToken}\n`);
            output.err(
              `nexus: imported ${report.domains} domains, ${report.surfaces} surfaces, ${report.ledgerEntries} ledger entries and ${report.records} records into the new tenant ${report.tenantId} (${seconds(started)} s); the owner token is shown only now.\n`,
            );
            // Each large store indexed once, now, rather than again and again as it grew; the tenant is complete
            // either way (a gateway builds what is missing when it first opens the store).
            const { minRows } = config.index;
            for (const { store, records } of stores) {
              if (minRows <= 0 || records < minRows) continue;
              output.err(`nexus: building the index of ${storeKey(store)} (${records} records) …\n`);
              await vectors.rebuildIndex(store).catch((error: unknown) => {
                output.err(`nexus: note: the index of ${storeKey(store)} was not built (${error instanceof Error ? error.message : String(error)}); a gateway builds it when it first opens the store\n`);
              });
            }
          }, TRANSFER_CACHE),
        );
      } catch (error) {
        if (error instanceof ExportFileError) throw new CliError(`${file}: ${error.message}; nothing was imported`, EXIT.failed);
        if (error instanceof ConflictError) throw new CliError(`${error.message}: give the imported identity another with --email <address>`, EXIT.failed);
        throw error;
      } finally {
        objects.close();
        source.close();
      }
    });
}
