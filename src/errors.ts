// Typed domain errors: plain classes with a code, thrown by every layer below the
// API. The GraphQL edge (graphql/errors.ts) maps them to extensions.code; nothing here knows GraphQL.

export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'INSUFFICIENT_CREDITS' | 'RATE_LIMITED' | 'EMBEDDER_UNAVAILABLE' | 'SERVICE_UNAVAILABLE' | 'STREAM_ENDED';

/** An error the client caused and may see: its message never carries secrets or internals. */
export class NexusError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input field at fault, for BAD_USER_INPUT. */
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends NexusError {
  constructor(message = 'a valid bearer token is required') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends NexusError {
  constructor(message = 'not allowed for this token') {
    super('FORBIDDEN', message);
  }
}

export class BadUserInputError extends NexusError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field);
  }
}

export class NotFoundError extends NexusError {
  constructor(what: string, key: string) {
    super('NOT_FOUND', `${what} ${JSON.stringify(key)} not found`);
  }
}

export class ConflictError extends NexusError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

export class InsufficientCreditsError extends NexusError {
  constructor(message = 'the wallet balance is too low for this burn') {
    super('INSUFFICIENT_CREDITS', message);
  }
}

export class RateLimitedError extends NexusError {
  constructor(
    /** Whole seconds until the caller may try again (sent as Retry-After). */
    readonly retryAfterSeconds: number,
    message = 'too many requests: try again later',
  ) {
    super('RATE_LIMITED', message);
  }
}

/** The server's embedder could not embed text for this request (unreachable, timed out, failed or answered wrongly); nothing was written. */
export class EmbedderUnavailableError extends NexusError {
  constructor(message = 'the embedding service is unavailable: nothing was written; try again, or send a vector') {
    super('EMBEDDER_UNAVAILABLE', message);
  }
}

/**
 * A service the request needs (PostgreSQL, the bucket, Redis) did not answer in time or refused the connection; the
 * request was given up within a bounded time and may be retried once the service is back.
 */
export class ServiceUnavailableError extends NexusError {
  constructor(
    /** Which service: 'database', 'storage' or 'events'. */
    readonly service: 'database' | 'storage' | 'events',
    message = `the ${service} is unavailable: try again shortly`,
  ) {
    super('SERVICE_UNAVAILABLE', message);
  }
}

/** Why a live stream ended: its last item, so the client knows whether to resume, re-authorise or stop. */
export type StreamEndReason = 'ACCESS_CHANGED' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'SHUTDOWN' | 'TOO_SLOW';

const END_MESSAGES: Record<StreamEndReason, string> = {
  ACCESS_CHANGED: 'the stream ended: what this token may read changed; subscribe again',
  TOKEN_EXPIRED: 'the stream ended: the token expired',
  TOKEN_REVOKED: 'the stream ended: the token was revoked',
  SHUTDOWN: 'the stream ended: the server is shutting down; resume with the last event id',
  TOO_SLOW: 'the stream ended: events were not read fast enough; resume with the last event id',
};

/** The last item of a live stream, saying why it ended (extensions.reason). */
export class StreamEndedError extends NexusError {
  constructor(readonly reason: StreamEndReason) {
    super('STREAM_ENDED', END_MESSAGES[reason]);
  }
}
