// What a surface sees of the tenant around it: a writer surface's home domain only where the reader
// may read that domain (through a search hit, a write's answer and a live event alike), never its key or name otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { startNexus, type TestNexus } from '../helpers/nexus.js';
import { readSse } from '../helpers/sse.js';

const DIM = 8;
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i ? 1 : 0.1));
const WRITER = 'surface { key homeDomain { key name } }';
const SEARCH = `query($v: [Float!]) { search(input: { vector: $v, domains: ["health"] }) { hits { record { id ${WRITER} } } } }`;

describe('what a surface sees of other surfaces', () => {
  let nexus: TestNexus;
  let t: TestTenant;
  let coach: TestSurface;
  let vo2: TestSurface;
  let god: TestSurface;

  beforeAll(async () => {
    nexus = await startNexus();
    t = await signUpTenant(nexus, ['health', 'business', 'finance']);
    // Coach lives in business and writes into health; VO2 mounts only health; the God View mounts both.
    coach = await addSurface(nexus, t.ownerToken, { key: 'coach', homeDomain: 'business', mounts: [{ domain: 'health', access: 'READ_WRITE' }] });
    vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    god = await addSurface(nexus, t.ownerToken, {
      key: 'god-view',
      kind: 'DASHBOARD',
      homeDomain: 'finance',
      mounts: [{ domain: 'health', access: 'READ' }, { domain: 'business', access: 'READ' }],
    });
    const wrote = await nexus.gql(
      `mutation($v: [Float!]) { remember(input: { domain: "health", records: [{ id: "plan", kind: "plan", vector: $v }] }) { records { id ${WRITER} } } }`,
      { v: vec(0) },
      coach.token,
    );
    // The writer sees its own home domain in its write's answer.
    expect(wrote.data?.remember.records).toEqual([{ id: 'plan', surface: { key: 'coach', homeDomain: { key: 'business', name: 'Business' } } }]);
  });
  afterAll(async () => {
    await nexus?.close();
  });

  it('hides the writer\'s home domain from a surface that does not mount it, through a search hit', async () => {
    const res = await nexus.gql(SEARCH, { v: vec(0) }, vo2.token);
    expect(res.errors).toBeUndefined();
    expect(res.data?.search.hits).toEqual([{ record: { id: 'plan', surface: { key: 'coach', homeDomain: null } } }]);
    expect(JSON.stringify(res)).not.toMatch(/business/i);
  });

  it('shows it to a surface that mounts it, and to the owner', async () => {
    for (const token of [god.token, t.ownerToken]) {
      const res = await nexus.gql(SEARCH, { v: vec(0) }, token);
      expect(res.data?.search.hits).toEqual([{ record: { id: 'plan', surface: { key: 'coach', homeDomain: { key: 'business', name: 'Business' } } } }]);
    }
  });

  it('lets a caller holding a token sign up someone new and read back the new tenant, not its own', async () => {
    const res = await nexus.gql(
      'mutation($e: String!) { signUp(input: { email: $e }) { ownerToken tenant { id domains { key } surfaces { key } } } }',
      { e: `new-${Date.now()}@example.com` },
      vo2.token,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.signUp.tenant.id).not.toBe(t.tenantId);
    expect(res.data?.signUp.tenant.domains.map((d: { key: string }) => d.key)).toEqual(['business', 'finance', 'health']);
    expect(res.data?.signUp.tenant.surfaces).toEqual([]);
    expect(res.data?.signUp.ownerToken).toMatch(/^nxo_/);
  });

  it('shows a surface its own home domain', async () => {
    const res = await nexus.gql('{ viewer { surface { key homeDomain { key } } } }', {}, vo2.token);
    expect(res.data?.viewer.surface).toEqual({ key: 'vo2', homeDomain: { key: 'health' } });
  });

  it('hides it in a live event too', async () => {
    const res = await nexus.server.yoga.fetch('http://nexus.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${vo2.token}` },
      body: JSON.stringify({ query: `subscription { nexusEvents(domains: ["health"]) { type record { id } ${WRITER} } }` }),
    });
    const stream = readSse(res);
    try {
      await new Promise((r) => setTimeout(r, 150));
      await nexus.gql('mutation($v: [Float!]) { remember(input: { domain: "health", records: [{ id: "plan-2", kind: "plan", vector: $v }] }) { records { id } } }', { v: vec(1) }, coach.token);
      const event = await stream.next();
      expect(event.data?.nexusEvents).toEqual({ type: 'REMEMBERED', record: { id: 'plan-2' }, surface: { key: 'coach', homeDomain: null } });
      expect(JSON.stringify(event)).not.toMatch(/business/i);
    } finally {
      await stream.close();
    }
  });
});
