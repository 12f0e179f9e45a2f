// Starts resolving the bearer token as soon as a request arrives, so the token's
// database round trip overlaps reading and parsing the body instead of following it.
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';

export interface EarlyViewer {
  plugin: Plugin;
  /** The viewer of this request: the lookup begun on arrival, or a fresh one. */
  viewerOf(request: Request): Promise<Viewer | null>;
}

export function createEarlyViewer(resolveViewer: (header: string | null) => Promise<Viewer | null>): EarlyViewer {
  const pending = new WeakMap<Request, Promise<Viewer | null>>();
  return {
    plugin: {
      onRequest({ request }) {
        const header = request.headers.get('authorization');
        if (header === null) return;
        const lookup = resolveViewer(header);
        // Observed here so a request that never builds a context (a page, a bad body) leaves no unhandled rejection;
        // the context awaits the same promise and sees the same outcome.
        lookup.catch(() => undefined);
        pending.set(request, lookup);
      },
    },
    viewerOf: (request) => pending.get(request) ?? resolveViewer(request.headers.get('authorization')),
  };
}
