// An infrastructure failure becomes SERVICE_UNAVAILABLE at the edge, whatever wrapped it: the shapes below are the
// ones seen arriving from Prisma 7 with @prisma/adapter-pg, pg, LanceDB 0.31 and the AWS SDK with each service stopped
// or frozen (test/api/outages.test.ts makes them for real). What the request caused stays what it was.
import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable, isLockTimeout } from '../../src/db/errors.js';
import { ForbiddenError, ServiceUnavailableError } from '../../src/errors.js';
import { isClientError, toClientError, unavailableCause } from '../../src/graphql/errors.js';
import { createStorageDeadline, isStorageUnavailable } from '../../src/vectors/storage-outage.js';

const prismaError = (code: string, message: string, cause?: Record<string, unknown>) =>
  Object.assign(new Error(message), { name: 'PrismaClientKnownRequestError', code, meta: cause ? { driverAdapterError: { name: 'DriverAdapterError', cause } } : {} });
const withCause = (message: string, cause: Error) => new Error(message, { cause });
const lance = (why: string) =>
  new Error(
    `lance error: LanceError(IO): Generic S3 error: Error performing list request: Error performing GET http://127.0.0.1:9000/nexus?list-type=2 in 2.0s - HTTP error: error sending request  Caused by: ${why}`,
  );
const sdk = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'failed')), { $metadata: { attempts: 2 } }, fields);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['P1001: the server refuses connections', prismaError('P1001', "Can't reach database server at 127.0.0.1:5432", { kind: 'DatabaseNotReachable' })],
    ['P2010 of a raw query, the adapter saying unreachable', prismaError('P2010', 'Raw query failed. Code: `N/A`.', { kind: 'DatabaseNotReachable', host: '127.0.0.1' })],
    ['the connection closed under a query', prismaError('P2010', 'Raw query failed.', { kind: 'ConnectionClosed' })],
    ['a transaction that could not start in time', prismaError('P2028', 'Transaction API error: Unable to start a transaction in the given time.')],
    ['a statement the server cancelled at statement_timeout', prismaError('P2010', 'Raw query failed.', { kind: 'postgres', code: '57014' })],
    ['the server shutting down', prismaError('P2010', 'Raw query failed.', { kind: 'postgres', code: '57P01' })],
    ["pg's own read timeout (a server that answers nothing)", new Error('Query read timeout')],
    ["pg-pool's connect timeout", withCause('Connection terminated due to connection timeout', new Error('Connection terminated unexpectedly'))],
    ['a lock not had in time', prismaError('P2010', 'Raw query failed.', { kind: 'postgres', code: '55P03' })],
  ])('recognises %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', prismaError('P2002', 'Unique constraint failed on the fields: (`email`)')],
    ['a missing row', prismaError('P2025', 'No record was found for an update.')],
    ['a missing table', prismaError('P2021', 'The table `public.Tenant` does not exist', { kind: 'TableDoesNotExist', originalCode: '42P01' })],
    ['another transaction error', prismaError('P2028', 'Transaction API error: Transaction already closed')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a socket error of some other service', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
  ])('leaves %s alone', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('tells a lock timeout (SQLSTATE 55P03) from other failures', () => {
    expect(isLockTimeout(prismaError('P2010', 'Raw query failed.', { kind: 'postgres', code: '55P03' }))).toBe(true);
    expect(isLockTimeout(prismaError('P2010', 'Raw query failed.', { kind: 'postgres', code: '57014' }))).toBe(false);
  });
});

describe('isStorageUnavailable', () => {
  it.each([
    ['LanceDB, the server stopped', lance('client error (Connect)  Caused by: tcp connect error  Caused by: Connection refused (os error 111)')],
    ['LanceDB, the server frozen', lance('error sending request  Caused by: operation timed out')],
    ['the AWS SDK, refused', sdk({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9000' })],
    ['the AWS SDK, timed out', sdk({ name: 'TimeoutError', message: 'Connection timed out after 2000 ms' })],
    ['the AWS SDK, a 503', sdk({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })],
  ])('recognises %s', (_, error) => {
    expect(isStorageUnavailable(error)).toBe(true);
  });

  it.each([
    ['a table not found', new Error("lance error: Table 'vectors' was not found")],
    ['a bad filter', new Error('lance error: Invalid user input: Schema error: No field named nope')],
    ['the AWS SDK, a missing bucket', sdk({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } })],
    ['a timeout that is no storage error', new Error('the embedder timed out')],
  ])('leaves %s alone', (_, error) => {
    expect(isStorageUnavailable(error)).toBe(false);
  });
});

describe('the edge', () => {
  const located = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['domain', 'search'] });

  it('answers SERVICE_UNAVAILABLE, HTTP 503 with Retry-After, naming the service, through GraphQL wrapping', () => {
    const error = toClientError(located(prismaError('P1001', "Can't reach database server at 127.0.0.1:5432")));
    expect(error.message).toBe('the database is unavailable: try again shortly');
    expect(error.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', service: 'database', http: { status: 503, headers: { 'retry-after': '1' } } });
    expect(error.originalError).toBeUndefined();
    // Yoga maps an error again when it sends it: the answer stays the same.
    expect(toClientError(error).extensions).toEqual(error.extensions);
    expect(toClientError(located(lance('operation timed out'))).extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'storage' });
  });

  it('finds the failure under an error that names it as its cause', () => {
    expect(unavailableCause(withCause('remember failed', new Error('Query read timeout')))?.service).toBe('database');
  });

  it('keeps a domain error, and masks what is no outage', () => {
    expect(toClientError(located(new ForbiddenError())).extensions.code).toBe('FORBIDDEN');
    expect(toClientError(located(prismaError('P2025', 'No record was found'))).extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it("counts an outage as the operator's to look at, not the client's", () => {
    expect(isClientError(located(new ServiceUnavailableError('storage')))).toBe(false);
    expect(isClientError(located(new Error('Query read timeout')))).toBe(false);
    expect(isClientError(located(new ForbiddenError()))).toBe(true);
  });
});

describe('createStorageDeadline', () => {
  it('gives up a wait past its bound with SERVICE_UNAVAILABLE (storage), and hands a late result to late()', async () => {
    const bound = createStorageDeadline(50);
    let resolveLate: (value: string) => void = () => undefined;
    const late: string[] = [];
    const waiting = bound(new Promise<string>((resolve) => (resolveLate = resolve)), (value) => late.push(value));
    await expect(waiting).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'storage' });
    resolveLate('handle');
    await new Promise((resolve) => setImmediate(resolve));
    expect(late).toEqual(['handle']);
  });

  it('passes through what settles in time, and bounds nothing without a bound', async () => {
    await expect(createStorageDeadline(1000)(Promise.resolve(7))).resolves.toBe(7);
    await expect(createStorageDeadline(1000)(Promise.reject(new Error('no')))).rejects.toThrow('no');
    const slow = new Promise((resolve) => setTimeout(() => resolve('slow'), 80));
    await expect(createStorageDeadline(undefined)(slow)).resolves.toBe('slow');
  });
});
