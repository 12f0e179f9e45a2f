// GET /export: everything the person owns, for the owner's token only, as JSON Lines (tenancy/export.ts) streamed
// as the client reads. No token or a bad one: 401 UNAUTHENTICATED; a surface token: 403 FORBIDDEN (JSON errors).
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';
import { ForbiddenError, NexusError, RateLimitedError, UnauthenticatedError } from '../errors.js';
import type { Services } from '../graphql/context.js';
import { exportLines, exportStream } from '../tenancy/export.js';
import { EXPORT_CONTENT_TYPE, type ExportLine } from '../tenancy/export-lines.js';
import { clientAddress } from './client-address.js';

export const EXPORT_PATH = '/export';

const STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, RATE_LIMITED: 429 };

function errorResponse(error: NexusError): Response {
  const headers = new Headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  if (error instanceof RateLimitedError) headers.set('retry-after', String(error.retryAfterSeconds));
  if (error.code === 'UNAUTHENTICATED') headers.set('www-authenticate', 'Bearer');
  const body = { errors: [{ message: error.message, extensions: { code: error.code } }] };
  return new Response(JSON.stringify(body), { status: STATUS[error.code] ?? 400, headers });
}

async function* startingWith<T>(first: T, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  yield first;
  yield* rest;
}

export interface ExportEndpointOptions {
  readonly services: Pick<Services, 'config' | 'db' | 'vectors' | 'rateLimits' | 'log'>;
  /** The server's own token lookup (use-early-viewer.ts: begun on arrival, through the viewer cache). */
  viewerOf(request: Request): Promise<Viewer | null>;
}

export function useExport(options: ExportEndpointOptions): Plugin<Record<string, unknown>, { req?: IncomingMessage }> {
  const { services } = options;
  const { config, rateLimits, log } = services;

  async function answer(request: Request, req: IncomingMessage | undefined): Promise<Response> {
    if (request.method !== 'GET') return new Response(null, { status: 405, headers: { allow: 'GET' } });
    const address = clientAddress(request, req, config.trustProxy);
    let viewer: Viewer | null;
    try {
      // Counted as the GraphQL endpoint counts: a valid token by itself, anything else by its address.
      viewer = await options.viewerOf(request).catch(async (error: unknown) => {
        await rateLimits.consume('anonymous', address);
        throw error;
      });
      await (viewer ? rateLimits.consume('token', viewer.tokenId) : rateLimits.consume('anonymous', address));
      if (!viewer) throw new UnauthenticatedError();
      // DESIGN.md: a surface's private store is the owner's for export and erasure only; no surface exports.
      if (viewer.role !== 'OWNER') throw new ForbiddenError('only the owner token exports the tenant');
    } catch (error) {
      if (error instanceof NexusError) return errorResponse(error);
      throw error;
    }
    const { tenantId } = viewer;
    const started = performance.now();
    const lines = exportLines({ prisma: services.db.prisma, vectors: services.vectors, vectorDimension: config.vectorDimension }, tenantId);
    // The header is read before answering: a tenant erased meanwhile is a 404, not a cut stream.
    let first: IteratorResult<ExportLine>;
    try {
      first = await lines.next();
    } catch (error) {
      if (error instanceof NexusError) return errorResponse(error);
      throw error;
    }
    log.info({ tenantId, tokenId: viewer.tokenId }, 'export started');
    const body = exportStream(first.done ? lines : startingWith(first.value, lines), {
      signal: request.signal,
      onError: (error) => log.error({ tenantId, err: error instanceof Error ? error.message : String(error), ms: Math.round(performance.now() - started) }, 'export failed midway; the stream was cut'),
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': `${EXPORT_CONTENT_TYPE}; charset=utf-8`,
        'content-disposition': `attachment; filename="nexus-export-${tenantId}.jsonl"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
    });
  }

  return {
    onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname !== EXPORT_PATH) return undefined;
      return answer(request, serverContext.req).then(endResponse);
    },
  };
}
