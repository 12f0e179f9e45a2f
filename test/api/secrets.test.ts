// Secrets stay secret: no token issued in a whole session of use (good requests, bad ones, errors, a live
// stream) appears in the log at its most verbose level, and the database holds only their hashes.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/log/logger.js';
import { addSurface, signUpTenant } from '../helpers/fixtures.js';
import { backends, startNexus, type TestNexus } from '../helpers/nexus.js';
import { readSse } from '../helpers/sse.js';

const DIM = 8;
const vec = Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0));

describe.each(await backends())('secrets on %s', (backend) => {
  const lines: string[] = [];
  const issued: string[] = [];
  let nexus: TestNexus;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    nexus = await startNexus({ backend, log: createLogger('trace', sink) });
    // A session of everything a person and their apps do, with the tokens in every place a token travels.
    const t = await signUpTenant(nexus);
    issued.push(t.ownerToken);
    const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const sleep = await addSurface(nexus, t.ownerToken, { key: 'sleep', homeDomain: 'finance', mounts: [{ domain: 'health', access: 'READ' }] });
    issued.push(vo2.token, sleep.token);
    const stream = readSse(
      await nexus.server.yoga.fetch('http://nexus.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${sleep.token}` },
        body: JSON.stringify({ query: 'subscription { nexusEvents { type } }' }),
      }),
    );
    await new Promise((r) => setTimeout(r, 150));
    await nexus.gql('mutation($v: [Float!]) { remember(input: { records: [{ kind: "w", vector: $v }] }) { records { id } } }', { v: vec }, vo2.token);
    await stream.next();
    await stream.close();
    await nexus.gql('{ search(input: { vector: [1] }) { hits { score } } }', {}, sleep.token); // BAD_USER_INPUT
    await nexus.gql('mutation { createDomain(input: { key: "x" }) { key } }', {}, vo2.token); // FORBIDDEN
    await nexus.gql('{ viewer { role } }', {}, `${vo2.token.slice(0, -1)}A`); // UNAUTHENTICATED, one character off
    await nexus.gql('{ viewer { role } }', {}, undefined, { authorization: `Basic ${vo2.token}` });
    // Tokens passed where they do not belong, as a client bug might: in variables and in the query text.
    await nexus.gql('query($token: String!) { domain(key: $token) { key } }', { token: t.ownerToken }, t.ownerToken);
    await nexus.gql(`{ domain(key: "${sleep.token}") { key } }`, {}, t.ownerToken);
    const revoke = await nexus.gql('mutation($id: ID!) { revokeToken(id: $id) }', { id: vo2.tokenId }, t.ownerToken);
    expect(revoke.data?.revokeToken).toBe(true);
    await nexus.gql('{ viewer { role } }', {}, vo2.token); // revoked
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('logged the session at trace level', () => {
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.join('')).toContain('"msg":"graphql"');
  });

  it('never writes a token, or the secret part of one, to the log', () => {
    const log = lines.join('');
    for (const token of issued) {
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.slice(4, 24)); // the random part, even cut short
    }
  });

  it('keeps only SHA-256 hashes of tokens in the database', async () => {
    const rows = await nexus.server.services.db.prisma.token.findMany();
    const stored = JSON.stringify(rows);
    for (const token of issued) {
      expect(stored).not.toContain(token.slice(4));
      expect(rows.map((r) => r.hash)).toContain(createHash('sha256').update(token).digest('hex'));
    }
  });
});
