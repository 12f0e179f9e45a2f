// The address a request comes from, for the per-address rate limits: the socket's peer, or behind a proxy
// you run (NEXUS_TRUST_PROXY), the last X-Forwarded-For entry, which is the one that proxy added.
import type { IncomingMessage } from 'node:http';

const ADDRESS = /^[0-9A-Fa-f:.]{2,45}$/;

export function clientAddress(request: Request, req: IncomingMessage | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded && ADDRESS.test(forwarded)) return forwarded;
  }
  // In-process requests (tests, yoga.fetch) have no socket: they share one address.
  return req?.socket?.remoteAddress ?? 'local';
}
