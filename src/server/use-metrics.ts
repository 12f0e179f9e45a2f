// Counts GraphQL requests (operation, latency, error codes) and open subscriptions into the server's metrics, and
// serves GET /metrics to a scraper holding NEXUS_METRICS_TOKEN (401 otherwise; 404 when no token is configured).
import { createHash, timingSafeEqual } from 'node:crypto';
import { getOperationAST, type DocumentNode, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { NexusMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether the Authorization header carries the token; compared in constant time (digests of equal length). */
export function bearerMatches(header: string | null, token: string): boolean {
  const match = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
}

/** The response to GET /metrics, for Yoga and for main.ts's metrics port. */
export async function metricsResponse(metrics: NexusMetrics, request: Request, token: string | undefined): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } });
  if (token !== undefined && !bearerMatches(request.headers.get('authorization'), token)) {
    return new Response('unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8' } });
  }
  const { contentType, body } = await metrics.scrape();
  return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
}

interface Seen {
  started: number;
  /** operationName as the request gave it; the executed operation's own name replaces it once known. */
  operation: string | null;
  type: string | null;
  codes: string[];
  answered: boolean;
}

const requestOf = (context: unknown): Request | undefined => (context as { request?: Request } | null)?.request;

function operationOf(document: DocumentNode, operationName: string | null | undefined) {
  const operation = getOperationAST(document, operationName);
  return { name: operation?.name?.value ?? null, type: operation?.operation ?? null };
}

function codesOf(result: unknown): string[] {
  const results = Array.isArray(result) ? result : [result];
  return results.flatMap((r) => {
    const errors = (r as { errors?: readonly GraphQLError[] } | null)?.errors;
    return Array.isArray(errors) ? errors.map((e: GraphQLError) => String(e.extensions?.code ?? 'UNKNOWN')) : [];
  });
}

/** `token`: serve /metrics here to its bearer; undefined: not here (it may have a port of its own). */
export function useMetrics(metrics: NexusMetrics, token: string | undefined): Plugin {
  const seen = new WeakMap<Request, Seen>();
  const learn = (request: Request | undefined, document: DocumentNode, operationName: string | null | undefined) => {
    const entry = request && seen.get(request);
    if (!entry) return;
    const { name, type } = operationOf(document, operationName);
    entry.operation = name ?? entry.operation;
    entry.type = type;
  };
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname === METRICS_PATH && token !== undefined) return metricsResponse(metrics, request, token).then(endResponse);
      seen.set(request, { started: performance.now(), operation: null, type: null, codes: [], answered: false });
      return undefined;
    },
    onParams({ request, params }) {
      const entry = seen.get(request);
      if (entry) entry.operation = params.operationName ?? null;
    },
    onExecute({ args }) {
      learn(requestOf(args.contextValue), args.document, args.operationName);
    },
    onSubscribe({ args }) {
      learn(requestOf(args.contextValue), args.document, args.operationName);
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in Object(result))) return undefined;
          metrics.subscriptionOpened();
          return { onEnd: () => metrics.subscriptionClosed() };
        },
      };
    },
    // Every GraphQL answer passes here, refusals before execution included (parse, validation, body, rate limits).
    onResultProcess({ request, result }) {
      const entry = seen.get(request);
      if (!entry) return;
      entry.answered = true;
      entry.codes = codesOf(result);
    },
    onResponse({ request }) {
      const entry = seen.get(request);
      if (!entry?.answered) return; // not a GraphQL answer: a page, /health, /ready, a 404
      seen.delete(request);
      metrics.request(entry.operation, entry.type, (performance.now() - entry.started) / 1000, entry.codes);
    },
  };
}
