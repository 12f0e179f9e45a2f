// Typed API errors: each a GraphQLError with extensions.code, so Yoga passes it
// to the client instead of masking it. Messages never carry secrets or internals.
import { GraphQLError } from 'graphql';

export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'INSUFFICIENT_CREDITS';

export class NexusError extends GraphQLError {
  constructor(readonly code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extra, code } });
  }
}

export class UnauthenticatedError extends NexusError {
  constructor(message = 'a valid bearer token is required') {
    super('UNAUTHENTICATED', message, { http: { status: 401 } });
  }
}

export class ForbiddenError extends NexusError {
  constructor(message = 'not allowed for this token') {
    super('FORBIDDEN', message);
  }
}

export class BadUserInputError extends NexusError {
  constructor(message: string, field?: string) {
    super('BAD_USER_INPUT', message, field ? { field } : {});
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
