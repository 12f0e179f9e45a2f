// Secrets never reach the log: tokens and authorization headers are redacted.
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log/logger.js';

describe('the logger', () => {
  it('redacts tokens and authorization headers wherever they are logged', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', sink);
    const secret = 'nxo_' + 'S'.repeat(43);
    log.info({ token: secret, headers: { authorization: `Bearer ${secret}` }, payload: { ownerToken: secret } }, 'issued');
    log.child({ requestId: 'r1' }).info({ authorization: `Bearer ${secret}` }, 'request');
    const text = lines.join('');
    expect(lines).toHaveLength(2);
    expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(JSON.parse(lines[1]!).requestId).toBe('r1');
  });
});
