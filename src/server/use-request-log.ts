// One log line per GraphQL request with its id, operation and error codes, and the cause
// of every unexpected error. Never logs variables or headers.
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../log/logger.js';
import type { NexusContext } from '../graphql/context.js';
import { isClientError, unavailableCause } from '../graphql/errors.js';

/** The error underneath any GraphQL wrapping: what the operator needs to see. */
function rootCause(error: GraphQLError): unknown {
  let e: unknown = error;
  while (e instanceof Error && 'originalError' in e && e.originalError) e = e.originalError;
  return e;
}

/** `requestIds` is filled by the context factory; the id is echoed in the x-request-id response header. */
export function useRequestLog(log: Logger, requestIds: WeakMap<Request, string>): Plugin<NexusContext> {
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onExecute({ args }) {
      const ctx = args.contextValue;
      return {
        onExecuteDone({ result }) {
          const list = 'errors' in result && Array.isArray(result.errors) ? (result.errors as GraphQLError[]) : [];
          ctx.log.info({ operation: args.operationName ?? null, role: ctx.viewer?.role ?? 'ANONYMOUS', errors: list.map((e) => e.extensions?.code ?? 'INTERNAL') }, 'graphql');
          // The client sees "Unexpected error."; the operator needs the cause. Coded errors are the client's, not ours.
          for (const e of list) {
            // An outage is not a bug: one warning naming the service, with what it answered (or that it did not).
            const unavailable = unavailableCause(e);
            if (unavailable) ctx.log.warn({ service: unavailable.service, err: rootCause(e), path: e.path }, 'service unavailable');
            else if (!isClientError(e)) ctx.log.error({ err: rootCause(e), path: e.path }, 'unexpected error');
          }
        },
      };
    },
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set('x-request-id', id);
      const t0 = started.get(request);
      if (t0 !== undefined) log.debug({ path: new URL(request.url).pathname, status: response.status, ms: Math.round(performance.now() - t0) }, 'http');
    },
  };
}
