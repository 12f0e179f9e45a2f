// The one place errors become what a client sees: a domain error keeps its message and gains
// extensions.code; anything unexpected is masked as INTERNAL_SERVER_ERROR (its cause is logged, never sent).
import { GraphQLError } from 'graphql';
import { NexusError, RateLimitedError, ServiceUnavailableError, StreamEndedError } from '../errors.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { isStorageUnavailable } from '../vectors/storage-outage.js';

export const UNEXPECTED_MESSAGE = 'Unexpected error.';

/** Codes the server itself gives, besides the domain errors' own. */
export type EdgeCode = 'INTERNAL_SERVER_ERROR' | 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED';

/** The domain error behind an error, through any GraphQL wrapping (located errors, coercion errors). */
export function domainCause(error: unknown): NexusError | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof NexusError) return e;
    e = e instanceof GraphQLError ? e.originalError : undefined;
  }
  return undefined;
}

/**
 * The service behind an infrastructure failure, through any wrapping (GraphQL's, Prisma's, an Error's cause): PostgreSQL
 * or the bucket unreachable, or not answering within its bound. Every resolver's such failure thus reaches the
 * client as SERVICE_UNAVAILABLE (HTTP 503, Retry-After), never as an internal error.
 */
export function unavailableCause(error: unknown): ServiceUnavailableError | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    if (e instanceof ServiceUnavailableError) return e;
    if (e instanceof NexusError) return undefined;
    if (isDatabaseUnavailable(e)) return new ServiceUnavailableError('database');
    if (isStorageUnavailable(e)) return new ServiceUnavailableError('storage');
    e = e instanceof GraphQLError ? e.originalError : (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A GraphQL error made only by graphql-js or by the API layer itself, with no foreign cause underneath. */
function isPureGraphQLError(error: GraphQLError): boolean {
  return error.originalError === undefined || error.originalError === null || (error.originalError instanceof GraphQLError && isPureGraphQLError(error.originalError));
}

function location(error: unknown) {
  if (!(error instanceof GraphQLError)) return {};
  return { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
}

/**
 * What the client receives for an error. Yoga calls it for every error it sends (as its maskError), so it must
 * be idempotent: a mapped error maps to an equal one.
 */
export function toClientError(error: unknown, unexpectedMessage: string = UNEXPECTED_MESSAGE): GraphQLError {
  const cause = domainCause(error) ?? unavailableCause(error);
  if (cause) {
    const extensions: Record<string, unknown> = { code: cause.code };
    if (cause.field !== undefined) extensions.field = cause.field;
    if (cause.code === 'UNAUTHENTICATED') extensions.http = { status: 401 };
    if (cause instanceof StreamEndedError) extensions.reason = cause.reason;
    if (cause instanceof ServiceUnavailableError) {
      extensions.service = cause.service;
      extensions.http = { status: 503, headers: { 'retry-after': '1' } };
    }
    if (cause instanceof RateLimitedError) {
      extensions.retryAfterSeconds = cause.retryAfterSeconds;
      extensions.http = { status: 429, headers: { 'retry-after': String(cause.retryAfterSeconds) } };
    }
    // No originalError: to Yoga this is then an error the API made on purpose, not a failure (which it answers 500).
    return new GraphQLError(cause.message, { ...location(error), extensions });
  }
  // Already masked: stays as it is.
  if (error instanceof GraphQLError && error.extensions.code === 'INTERNAL_SERVER_ERROR') return error;
  if (error instanceof GraphQLError && isPureGraphQLError(error)) {
    // Parse, validation and request errors arrive coded by Yoga, scalar errors by graphql/scalars.ts.
    if (typeof error.extensions.code === 'string') {
      // Yoga attaches the parser's own error (e.g. of a body that is not JSON): internals, not the client's business.
      if (!('originalError' in error.extensions)) return error;
      const { originalError: _internal, ...extensions } = error.extensions;
      return new GraphQLError(error.message, { ...location(error), extensions });
    }
    // graphql-js's own errors without a path concern the request, not a field: variables that do not coerce
    // (Infinity, "NaN", 1.5 for an Int), an operation name that is missing. With a path they are ours.
    if (!error.path) return new GraphQLError(error.message, { ...location(error), extensions: { ...error.extensions, code: 'BAD_USER_INPUT' } });
  }
  return new GraphQLError(unexpectedMessage, {
    ...location(error),
    originalError: error instanceof Error ? error : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' satisfies EdgeCode },
  });
}

/** True for an error the client caused (coded for it), false for one the operator must look at. */
export function isClientError(error: unknown): boolean {
  // An outage is the operator's to see (its cause is logged), though the client gets a code for it.
  if (unavailableCause(error)) return false;
  if (domainCause(error)) return true;
  return error instanceof GraphQLError && isPureGraphQLError(error) && (typeof error.extensions.code === 'string' || !error.path);
}

/** A coded BAD_USER_INPUT error for the API layer's own checks (scalars), which run before any domain code. */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}
