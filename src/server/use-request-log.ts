// One log line per GraphQL request with its id, operation and duration; the
// id is echoed in the x-request-id response header. Never logs variables or headers.
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../log/logger.js';
import type { NexusContext } from '../graphql/context.js';

export function useRequestLog(log: Logger): Plugin<NexusContext> {
  const started = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onExecute({ args }) {
      const ctx = args.contextValue;
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result && Array.isArray(result.errors) ? result.errors.map((e) => e.extensions?.code ?? 'INTERNAL') : [];
          ctx.log.info({ operation: args.operationName ?? null, role: ctx.viewer?.role ?? 'ANONYMOUS', errors }, 'graphql');
        },
      };
    },
    onResponse({ request, response }) {
      const t0 = started.get(request);
      if (t0 !== undefined) log.debug({ path: new URL(request.url).pathname, status: response.status, ms: Math.round(performance.now() - t0) }, 'http');
    },
  };
}
