// What every CLI command gets: where to write, the configuration (the server's own: loadConfig), and the
// control-plane database (createDatabase, which runs pending migrations), opened for one command and closed after.
// Also the one place a failure becomes the single line an operator reads, and its exit code.
import { ConfigError, loadConfig, type Config } from '../config/env.js';
import type { Database } from '../db/create-database.js';
import { DataDirInUseError } from '../db/data-dir-lock.js';
import { MigrationError } from '../db/migrate.js';
import { NexusError } from '../errors.js';

/** Exit codes: 0 done, 1 the command failed, 2 it could not run as given (usage or configuration). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliOutput {
  /** Results: what a script reads (codes, tables, JSON). */
  out(text: string): void;
  /** Notes and errors, for the operator. */
  err(text: string): void;
}

export interface CliContext {
  readonly output: CliOutput;
  /** The configuration, parsed on first use (so that --help needs none); a bad value throws ConfigError. */
  config(): Config;
  /** Opens the database, runs fn, and closes it however fn ends (releasing PGlite's data-directory lock). */
  withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T>;
}

/** A failure a command reports as it is: one line, and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const processOutput: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

export function createCliContext(env: Record<string, string | undefined> = process.env, output: CliOutput = processOutput): CliContext {
  let config: Config | undefined;
  const context: CliContext = {
    output,
    config: () => (config ??= loadConfig(env)),
    async withDatabase(fn) {
      // Loaded on first use: --help and usage errors need neither Prisma nor PGlite.
      const { createDatabase } = await import('../db/create-database.js');
      const db = await createDatabase(context.config());
      try {
        if (db.migrations.applied.length) output.err(`nexus: applied migrations ${db.migrations.applied.join(', ')}\n`);
        return await fn(db);
      } finally {
        await db.close();
      }
    },
  };
  return context;
}

/** Any message as one line of bounded length (database drivers like several). */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return messageOf(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}

/** The line an operator reads for a failure (without the "nexus: " prefix), and the exit code. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: oneLine(error.message), exitCode: error.exitCode };
  if (error instanceof ConfigError) return { message: oneLine(error.message), exitCode: EXIT.usage };
  if (error instanceof NexusError) return { message: oneLine(error.message), exitCode: error.code === 'BAD_USER_INPUT' ? EXIT.usage : EXIT.failed };
  if (error instanceof DataDirInUseError) {
    // The lock's own advice (another NEXUS_DATA_DIR) would point the CLI at a different, empty database.
    const what = error.message.split(';')[0] ?? error.message;
    return {
      message: oneLine(`${what}: an embedded (PGlite) database admits one process, so stop that gateway first, or run the gateway and the CLI on a PostgreSQL DATABASE_URL`),
      exitCode: EXIT.failed,
    };
  }
  if (error instanceof MigrationError) return { message: oneLine(error.message), exitCode: EXIT.failed };
  return { message: oneLine(`failed: ${messageOf(error)}`), exitCode: EXIT.failed };
}
