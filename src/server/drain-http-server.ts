// The HTTP half of a graceful shutdown (main.ts): stop accepting connections, close idle keep-alive connections at
// once and each busy one as soon as its response is done, and cut whatever is still open when the deadline passes.
import type { Server, ServerResponse } from 'node:http';

export interface DrainResult {
  /** Requests still running when the deadline passed, whose connections were cut (0: every one finished). */
  readonly cut: number;
}

export interface HttpDrain {
  /** Requests being answered now. */
  inFlight(): number;
  /**
   * Stops accepting connections at once (a new one is refused) and resolves when every connection is closed, or
   * after timeoutMs with the rest cut. Call once.
   */
  close(timeoutMs: number): Promise<DrainResult>;
}

/** Tracks the server's requests from now on, so that close() knows which connections are busy. */
export function createHttpDrain(http: Server): HttpDrain {
  const answering = new Set<ServerResponse>();
  let closing = false;

  // Once closing, a connection whose response is done holds nothing: close it now rather than after keep-alive.
  const closeIdle = () => setImmediate(() => http.closeIdleConnections());
  const lastOnItsConnection = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };

  http.on('request', (_req, res: ServerResponse) => {
    answering.add(res);
    if (closing) lastOnItsConnection(res);
    res.once('close', () => {
      answering.delete(res);
      if (closing) closeIdle();
    });
  });

  return {
    inFlight: () => answering.size,
    close(timeoutMs) {
      closing = true;
      for (const res of answering) lastOnItsConnection(res);
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      // server.close() stops listening and closes idle connections (Node ≥ 19); said again so it does not depend on that.
      http.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), timeoutMs);
      });
      return Promise.race([closed.then(() => 'closed' as const), deadline]).then(async (how) => {
        clearTimeout(timer);
        if (how === 'closed') return { cut: 0 };
        const cut = answering.size;
        http.closeAllConnections();
        await closed;
        return { cut };
      });
    },
  };
}
