// Request logging through the API: the request id is echoed, an unexpected
// error's cause reaches the log (the client sees only "Unexpected error."), tokens never do.
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log/logger.js';
import { signUpTenant } from '../helpers/fixtures.js';
import { startNexus } from '../helpers/nexus.js';

describe('request logging', () => {
  it('echoes the request id and logs the cause of an unexpected error, never the token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const nexus = await startNexus({ log: createLogger('info', sink) });
    try {
      const t = await signUpTenant(nexus);
      // Break the vectors layer (the real one, one method replaced) so a resolver fails unexpectedly.
      const vectors = nexus.server.services.vectors as { count: (...a: unknown[]) => Promise<number> };
      vectors.count = async () => {
        throw new Error('disk on fire');
      };
      const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.ownerToken}`, 'x-request-id': 'req-42' },
        body: JSON.stringify({ query: '{ domain(key: "health") { recordCount } }' }),
      });
      expect(res.headers.get('x-request-id')).toBe('req-42');
      const body = (await res.json()) as { errors: { message: string; extensions?: Record<string, unknown> }[] };
      expect(body.errors[0]?.message).toBe('Unexpected error.');
      // Coded like every other error, and nothing of the cause reaches the client.
      expect(body.errors[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      expect(JSON.stringify(body)).not.toContain('disk on fire');
      const text = lines.join('');
      expect(text).toContain('disk on fire');
      expect(text).toContain('req-42');
      expect(text).not.toContain(t.ownerToken.slice(4));
    } finally {
      await nexus.close();
    }
  });
});
