#!/usr/bin/env node
// Stand-in for Prisma's native schema engine (developer tool, never used by the server): runs
// @prisma/schema-engine-wasm over PGlite or node-postgres and answers the CLI's JSON-RPC on stdio.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// Command line, as the CLI spawns the binary: --datamodels <file>… --datasource '{"url":…}'

function parseArgs(argv) {
  const args = { datamodels: [], datasource: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--datamodels') args.datamodels.push(argv[++i]);
    else if (arg === '--datasource') args.datasource = JSON.parse(argv[++i]);
    else if (arg === '--enabled-preview-features' || arg === '--extension-types') i++; // not needed here
    else if (arg === '--version' || arg === '-V') args.version = true;
    else if (arg === 'cli') args.cliCommand = argv[++i]; // e.g. `cli can-connect-to-database`
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// The wasm engine. Importing the package fails on Node 20 ("Unknown file extension .wasm"), so
// instantiate the module by hand and hand it to the generated bindings.

async function loadEngineModule() {
  const bindingsUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bindings = await import(bindingsUrl);
  const bytes = await readFile(new URL('schema_engine_bg.wasm', bindingsUrl));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return bindings;
}

// A Rust panic in the engine calls set_message() before trapping; keep the text for the error.
let lastPanic = null;
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (message) => { lastPanic = message; } };

// ---------------------------------------------------------------------------------------------
// Driver adapter factories (SqlMigrationAwareDriverAdapterFactory): connect() for the target
// database, connectToShadowDb() for a throw-away database the engine replays migrations into.

const cleanups = [];

function isPostgresUrl(url) {
  return /^postgres(ql)?:\/\//i.test(url);
}

// dataDir undefined: an in-memory database. Shadow databases are in-memory PGlite instances;
// starting one takes seconds and `migrate dev` asks for several, so an idle one is emptied and
// handed out again.
async function pgliteFactory(dataDir) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  let main = null;
  const idleShadows = [];
  cleanups.push(() => Promise.all(idleShadows.map((db) => db.close())));

  const emptied = async (db) => {
    const { rows } = await db.query(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'");
    const drops = rows.map(({ nspname }) => `DROP SCHEMA "${nspname.replace(/"/g, '""')}" CASCADE;`);
    await db.exec(`${drops.join('\n')}\nCREATE SCHEMA public;`);
    return db;
  };

  return {
    provider: 'postgres',
    adapterName: 'pglite-schema-engine-shim',
    async connect() {
      if (!main) {
        main = new PGlite({ dataDir });
        cleanups.push(() => main.close());
      }
      return new PrismaPGlite(main).connect();
    },
    async connectToShadowDb() {
      const reused = idleShadows.pop();
      const shadow = reused ? await emptied(reused) : new PGlite();
      const adapter = await new PrismaPGlite(shadow).connect();
      adapter.dispose = async () => { idleShadows.push(shadow); };
      return adapter;
    },
  };
}

// node-postgres settings from the URL's discrete fields (query parameters other than ?schema=
// are ignored: this is for local servers).
function postgresConfig(url) {
  const u = new URL(url);
  const config = {
    host: decodeURIComponent(u.hostname) || 'localhost',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
  };
  const schema = u.searchParams.get('schema') ?? undefined;
  if (schema) config.options = `-c search_path="${schema.replace(/"/g, '""')}"`;
  return { config, schema };
}

// Runs one statement on the server's maintenance database (CREATE / DROP DATABASE).
async function adminQuery(config, sql) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ ...config, database: 'postgres', options: undefined });
  await client.connect();
  try { await client.query(sql); } finally { await client.end(); }
}

// adapter-pg cannot map PostgreSQL's internal one-byte "char" type (OID 18; pg_catalog columns
// such as relkind), so reading a real server's schema fails with "Column type 'char' could not
// be deserialized". Report such columns as bpchar (OID 1042), which it reads as text.
function readCharAsText(queryable) {
  const performIO = queryable.performIO.bind(queryable);
  queryable.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result?.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 1042;
    return result;
  };
  if (typeof queryable.startTransaction === 'function') {
    const startTransaction = queryable.startTransaction.bind(queryable);
    queryable.startTransaction = async (...args) => readCharAsText(await startTransaction(...args));
  }
  return queryable;
}

// adapter-pg's own connectToShadowDb spreads {connectionString} with a database name (the
// connection string wins, so the "shadow" is the real database) and drops the database before
// closing its pool. Build the configs from discrete fields and drop with FORCE instead.
async function postgresFactory(url) {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const { config, schema } = postgresConfig(url);
  const options = schema ? { schema } : undefined;

  return {
    provider: 'postgres',
    adapterName: 'pg-schema-engine-shim',
    async connect() {
      const adapter = readCharAsText(await new PrismaPg(config, options).connect());
      cleanups.push(() => adapter.dispose());
      return adapter;
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID().replace(/-/g, '')}`;
      await adminQuery(config, `CREATE DATABASE "${name}"`);
      const adapter = readCharAsText(await new PrismaPg({ ...config, database: name }).connect());
      let dropped = false;
      const drop = async () => {
        if (dropped) return;
        dropped = true;
        await adapter.dispose().catch(() => {});
        await adminQuery(config, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      adapter.dispose = drop;
      cleanups.push(drop);
      return adapter;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One-shot commands: `--datasource … cli can-connect-to-database | create-database`, run by
// `migrate dev` / `migrate deploy` before the JSON-RPC session. The CLI skips the first stderr
// line and reads each further one as JSON; an ERROR with an error_code means "cannot connect".

function logLine(level, fields) {
  return JSON.stringify({ level, target: 'schema_engine::logger', fields });
}

// Returns the process exit code.
async function runCliCommand(command, url) {
  if (!url || !isPostgresUrl(url)) return 0; // PGlite: the directory is created when opened
  const pg = (await import('pg')).default;
  const { config } = postgresConfig(url);
  const where = `${config.host}:${config.port}`;
  const fail = (errorCode, message) => {
    process.stderr.write(`${logLine('INFO', { message: `schema engine shim: cli ${command}` })}\n`);
    process.stderr.write(logLine('ERROR', errorCode ? { error_code: errorCode, message } : { message }));
    return 1;
  };
  try {
    if (command === 'can-connect-to-database') {
      const client = new pg.Client(config);
      await client.connect();
      await client.end();
      return 0;
    }
    if (command === 'create-database') {
      await adminQuery(config, `CREATE DATABASE "${config.database.replace(/"/g, '""')}"`);
      return 0;
    }
    return fail(null, `cli ${command} is not supported by the wasm schema engine shim.`);
  } catch (err) {
    if (err.code === '3D000') return fail('P1003', `Database \`${config.database}\` does not exist on the database server at \`${where}\`.`);
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') return fail('P1001', `Can't reach database server at \`${where}\`.`);
    if (err.code === '28P01' || err.code === '28000') return fail('P1000', `Authentication failed against database server at \`${where}\`.`);
    return fail(null, String(err?.message ?? err));
  }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC over stdio: one JSON object per line in each direction.

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let nextPrintId = 1;

// The native engine asks the CLI to print diff output (a "print" request) and returns no text;
// the wasm engine returns the text in result.stdout instead. Turn the one into the other.
function printRequest(content) {
  send({ jsonrpc: '2.0', id: `print-${nextPrintId++}`, method: 'print', params: { content } });
}

// Errors in the shape the CLI reads: error.data.{message, is_panic}.
function toRpcError(err) {
  const panic = lastPanic;
  lastPanic = null;
  return {
    code: 4466,
    message: 'An error happened. Check the data field for details.',
    data: panic
      ? { is_panic: true, message: panic, error: { message: panic } }
      : { is_panic: false, message: String(err?.message ?? err) },
  };
}

// A diff between files, schemas and migration folders needs no real database: the engine still
// connects on start-up, so give it an in-memory PGlite (migration folders are replayed into a
// second in-memory PGlite, the shadow database).
function needsDatabase(request) {
  if (request.method !== 'diff') return true;
  const usesDatabase = (target) => target?.tag === 'url' || target?.tag === 'schemaDatasource';
  return usesDatabase(request.params?.from) || usesDatabase(request.params?.to);
}

// url: postgres:// or postgresql:// for a server; file:<dir> or a plain path (relative to the
// project root) for a PGlite directory; null for an in-memory PGlite.
async function createEngine(engineModule, datamodels, url, baseDir) {
  let factory;
  if (url === null) factory = await pgliteFactory(undefined);
  else if (isPostgresUrl(url)) factory = await postgresFactory(url);
  else factory = await pgliteFactory(resolve(baseDir, url.replace(/^file:(\/\/(?=\/))?/i, '')));
  const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');
  // The engine reports log events through this callback; the CLI reads stderr lines as JSON.
  const log = (event) => process.stderr.write(`${typeof event === 'string' ? event : JSON.stringify(event)}\n`);
  return engineModule.SchemaEngine.new({ datamodels }, log, bindMigrationAwareSqlAdapterFactory(factory));
}

// The wasm engine can build "the schema the migrations produce" only through the shadow database
// factory in devDiagnostic / diagnoseMigrationHistory, which cache it; evaluateDataLoss reads
// that cache and fails ("PostgreSQL shadow DB must be provided through an external factory")
// once applyMigrations has cleared it, as on the first `migrate dev` against a fresh database.
// Fill the cache again through devDiagnostic and retry once.
async function callWithMigrationSchema(engine, method, params) {
  try {
    return await engine[method](params);
  } catch (err) {
    const cacheMiss = /shadow DB must be provided through an external factory/.test(String(err?.message));
    if (!cacheMiss || !params?.migrationsList) throw err;
    await engine.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters ?? { externalTables: [], externalEnums: [] } });
    return engine[method](params);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    console.log(`schema-engine-cli ${(await loadEngineModule()).version()} (wasm shim)`);
    return;
  }
  if (args.cliCommand) {
    process.exitCode = await runCliCommand(args.cliCommand, args.datasource?.url ?? process.env.DATABASE_URL);
    return;
  }

  const baseDir = process.cwd(); // the CLI spawns the engine in the project root
  const url = args.datasource?.url ?? process.env.DATABASE_URL;
  // `migrate diff` is spawned without --datamodels: a datasource-only schema is enough.
  const readDatamodels = async () => args.datamodels.length > 0
    ? Promise.all(args.datamodels.map(async (file) => [file, await readFile(resolve(baseDir, file), 'utf8')]))
    : [['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']];

  // Methods the CLI calls by another name.
  const aliases = { getDatabaseVersion: 'version' };

  // The engine is created on the first request, which tells whether a real database is needed.
  let engine = null;
  let queue = Promise.resolve(); // one request at a time, in order
  let current = null;
  const handle = async (request) => {
    const method = aliases[request.method] ?? request.method;
    current = request;
    try {
      if (!engine) {
        // Start-up failures are answered as errors too: if this process just exited, some CLI
        // commands (migrate diff) would print nothing and exit 0.
        const target = needsDatabase(request) ? url : null;
        if (target === undefined) throw new Error('No datasource URL: set DATABASE_URL (see prisma.config.ts).');
        engine = await createEngine(await loadEngineModule(), await readDatamodels(), target, baseDir);
      }
      if (typeof engine[method] !== 'function' || method === 'free' || method === 'constructor') {
        throw new Error(`Method ${request.method} is not supported by the wasm schema engine shim.`);
      }
      // version() takes an optional {datasource}; anything else there makes it throw.
      const params = method === 'version' && !request.params?.datasource ? undefined : request.params;
      let result = await callWithMigrationSchema(engine, method, params);
      if (method === 'diff' && result && typeof result.stdout === 'string') {
        if (result.stdout.length > 0) printRequest(result.stdout);
        result = { exitCode: result.exitCode };
      }
      send({ jsonrpc: '2.0', id: request.id, result: result ?? null });
    } catch (err) {
      send({ jsonrpc: '2.0', id: request.id, error: toRpcError(err) });
    } finally {
      current = null;
    }
  };

  // Some engine errors are thrown from inside its futures and escape every promise: answer the
  // request in hand with the error, then stop (the engine's state is unknown after that).
  process.on('uncaughtException', (err) => {
    if (current) send({ jsonrpc: '2.0', id: current.id, error: toRpcError(err) });
    else process.stderr.write(`${JSON.stringify({ level: 'ERROR', fields: { message: String(err?.message ?? err) } })}\n`);
    process.exit(1);
  });

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line);
    if (!message.method) return; // the CLI's answer to our print request
    queue = queue.then(() => handle(message));
  });

  // The CLI closes stdin and then sends SIGTERM straight away: finish the work in hand, close
  // databases (PGlite must be closed cleanly), drop shadow databases, then exit.
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await queue;
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => {});
    process.exit(0);
  };
  lines.on('close', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err) => {
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', fields: { message: String(err?.stack ?? err) } })}\n`);
  process.exit(1);
});
