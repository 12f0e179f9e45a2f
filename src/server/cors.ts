// Which web origins may call Nexus from a browser: an explicit list (NEXUS_CORS_ORIGINS), any origin with '*',
// none by default in production. Never with credentials: Nexus authenticates by bearer token, not cookies.
import type { CORSOptions } from 'graphql-yoga';

export function corsFor(allowed: readonly string[]): (request: Request) => CORSOptions {
  const any = allowed.includes('*');
  return (request) => {
    const origin = request.headers.get('origin');
    // An origin not on the list gets no CORS headers at all (not "null", which sandboxed frames send).
    if (!origin || !(any || allowed.includes(origin))) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-request-id', 'last-event-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    };
  };
}
