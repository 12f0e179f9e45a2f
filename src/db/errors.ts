// Recognises database errors the API turns into codes (unique violations → CONFLICT, an unreachable or unanswering
// server → SERVICE_UNAVAILABLE), whichever layer wrapped them: Prisma, its driver adapter or pg itself.

/**
 * True for a unique-constraint violation on any adapter: Prisma's P2002 from model queries, or the raw
 * database error (SQLSTATE 23505) that $queryRaw passes through.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002') return true;
  const text = error instanceof Error ? `${error.message} ${JSON.stringify(error)}` : String(error);
  return text.includes('23505') || /unique constraint/i.test(text);
}

/** The SQLSTATE under a Prisma error's driver-adapter cause, or a pg error's own code. */
function sqlState(error: object): string | undefined {
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { code?: unknown; originalCode?: unknown } } } }).meta?.driverAdapterError?.cause;
  const code = cause?.originalCode ?? cause?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A wait for a lock that ran past lock_timeout (SQLSTATE 55P03): the statement, not the connection, failed. */
export function isLockTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && sqlState(error) === '55P03';
}

// Prisma's codes for a server it cannot reach, that timed out, or that closed the connection; a pool that had no
// connection to give in time (P2024, and P2028 when a transaction could not start).
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// The driver adapter's kinds for the same (DriverAdapterError.cause.kind, also under a Prisma error's meta).
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// SQLSTATEs of a server going away or refusing work for now: connection exceptions (08…), too many connections and
// other resource shortages (53…), shutting down or starting up (57P01–57P03), a statement cancelled by
// statement_timeout (57014: the server did not answer within the bound), a lock not had in time (55P03).
const SQL_STATES = /^(08...|53...|57P0[1-3]|57014|55P03)$/;
// pg and pg-pool raise plain Errors for these: a connection that could not be made or kept in time. (Socket errors
// such as ECONNREFUSED reach the API as the adapter's kinds above; bare ones may come from the bucket or Redis.)
const DRIVER_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end)/;

/**
 * True for an error saying PostgreSQL is unreachable or did not answer in time (NEXUS_DATABASE_TIMEOUT_MS), as
 * Prisma, its pg driver adapter or pg raise it; false for anything the request itself caused.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && PRISMA_CODES.has(code)) return true;
  if (code === 'P2028' && typeof message === 'string' && /Unable to start a transaction/.test(message)) return true;
  const adapterCause = (error as { meta?: { driverAdapterError?: { cause?: { kind?: unknown } } }; cause?: { kind?: unknown } }).meta?.driverAdapterError?.cause ??
    (name === 'DriverAdapterError' ? (error as { cause?: { kind?: unknown } }).cause : undefined);
  if (typeof adapterCause?.kind === 'string' && ADAPTER_KINDS.has(adapterCause.kind)) return true;
  const state = sqlState(error);
  if (state !== undefined && SQL_STATES.test(state)) return true;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}
