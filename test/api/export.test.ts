// Export and import: GET /export streams everything a person owns as JSON Lines, for the owner's token only and
// never a token; tenant:export → tenant:import restores it into a fresh tenant whose export is the same but for
// what is documented as new; a bad or cut file imports nothing; the export reads only as fast as its reader.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../../src/cli/program.js';
import { ExportFileError, splitLines } from '../../src/tenancy/export-lines.js';
import { checkExport, importTenant } from '../../src/tenancy/import.js';
import { float32Base64 } from '../../src/vectors/records.js';
import type { StoredRecord } from '../../src/vectors/store.js';
import { backends, createTestDatabase, startNexus, uniqueEmail, type TestNexus } from '../helpers/nexus.js';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const DIM = 8;
const REMEMBER = `mutation($input: RememberInput!) { remember(input: $input) { records { id } } }`;
const TOP_UP = `mutation($input: TopUpCreditsInput!) { topUpCredits(input: $input) { wallet { balance } } }`;
const BURN = `mutation($input: BurnCreditsInput!) { burnCredits(input: $input) { wallet { balance } } }`;
const SEARCH = `query($input: SearchInput!) { search(input: $input) { hits { distance record { id scope text surface { key } } } } }`;

type Line = Record<string, unknown> & { type: string };

let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}
const vector = (scale = 1) => Float32Array.from({ length: DIM }, () => (random() - 0.5) * scale);

async function exportOf(nexus: TestNexus, token?: string): Promise<Response> {
  return nexus.server.yoga.fetch('http://nexus.test/export', { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

const linesOf = (body: string): Line[] =>
  body
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

/** What an import makes new: the tenant's id and creation time, when it was exported, and (given --email) the address. */
function withoutNew(lines: Line[]): Line[] {
  return lines.map((line) => {
    if (line.type === 'nexus-export') return { ...line, exportedAt: 'new' };
    if (line.type === 'tenant') return { ...line, id: 'new', createdAt: 'new' };
    if (line.type === 'identity') return { ...line, email: 'new' };
    return line;
  });
}

/** A tenant with 3 domains, 2 surfaces (each with private-store records), mounts, a ledger and records of every kind. */
async function buildTenant(nexus: TestNexus): Promise<{ t: TestTenant; vo2: TestSurface; agnx: TestSurface }> {
  const t = await signUpTenant(nexus, ['health', 'business', 'finance']);
  const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health', mounts: [{ domain: 'finance', access: 'READ' }] });
  const agnx = await addSurface(nexus, t.ownerToken, { key: 'agnx', homeDomain: 'business', kind: 'CONNECTOR', mounts: [{ domain: 'health', access: 'READ_WRITE' }] });
  const ok = async (query: string, input: unknown, token: string) => {
    const res = await nexus.gql(query, { input }, token);
    expect(res.errors).toBeUndefined();
  };
  await ok(TOP_UP, { amount: '1000', reason: 'first top-up', idempotencyKey: 'top-1' }, t.ownerToken);
  await ok(BURN, { amount: '10', reason: 'embedding', idempotencyKey: 'burn-1' }, vo2.token);
  await ok(BURN, { amount: '25', reason: 'sync run', idempotencyKey: 'burn-2' }, agnx.token);
  await ok(BURN, { amount: '5', reason: 'owner burn', idempotencyKey: 'burn-3' }, t.ownerToken);
  await ok(REMEMBER, {
    records: [
      { id: 'leg-day', kind: 'workout', text: 'heavy leg day', vectorBase64: float32Base64(vector(3)), metadata: { sets: 5, tags: ['legs'] }, occurredAt: '2024-03-01T07:30:00.000Z' },
      { kind: 'workout', vector: Array.from(vector(1e-3), (x) => x + 1e-9) },
      { id: 'note-1', kind: 'note', text: 'text only: resting heart rate 52' },
    ],
  }, vo2.token);
  await ok(REMEMBER, { domain: 'health', records: [{ id: 'sleep-1', kind: 'sleep', vector: Array.from(vector(40)), text: 'slept well' }] }, agnx.token);
  await ok(REMEMBER, { records: [{ id: 'invoice-7', kind: 'invoice', vectorBase64: float32Base64(vector()), metadata: { total: 120.5 } }] }, agnx.token);
  await ok(REMEMBER, { domain: 'finance', records: [{ id: 'budget', kind: 'note', text: 'monthly budget', vectorBase64: float32Base64(vector()) }] }, t.ownerToken);
  // Vectors beyond float32's range (written as JSON numbers): vectorBase64 cannot hold them, unitBase64 does.
  const far = (scale: number) => Array.from(vector(), (x) => x * scale);
  await ok(REMEMBER, { domain: 'finance', records: [{ id: 'huge', kind: 'note', vector: far(1e300) }, { id: 'tiny', kind: 'note', vector: far(1e-300) }] }, t.ownerToken);
  await ok(REMEMBER, { scope: 'GLOBAL', records: [{ id: 'me', kind: 'profile', text: 'I like mornings', vectorBase64: float32Base64(vector()) }, { kind: 'profile', text: 'global text only' }] }, t.ownerToken);
  await ok(REMEMBER, { scope: 'SURFACE', records: [{ id: 'ui-state', kind: 'ui', vectorBase64: float32Base64(vector()), metadata: { tab: 2 } }] }, vo2.token);
  await ok(REMEMBER, { scope: 'SURFACE', records: [{ id: 'draft', kind: 'draft', text: 'a private draft' }] }, agnx.token);
  return { t, vo2, agnx };
}

describe.each(await backends())('export and import (%s)', (backend) => {
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let env: Record<string, string>;
  let nexus: TestNexus;
  let running = false;
  let built: Awaited<ReturnType<typeof buildTenant>>;
  let original: string;

  // The gateway runs on this data across restarts (PGlite admits one process: the CLI runs while it is stopped).
  const start = async () => {
    nexus = await startNexus({ backend: 'pglite', env });
    running = true;
    return nexus;
  };
  const stop = async () => {
    if (running) await nexus.close();
    running = false;
  };
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(argv, { env: { ...env, LOG_LEVEL: 'silent' }, output: { out: (x) => void (out += x), err: (x) => void (err += x) } });
    return { code, out, err };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-export-'));
    env = { NEXUS_DATA_DIR: dataDir, NEXUS_VECTOR_DIM: String(DIM) };
    if (backend === 'postgresql') {
      database = await createTestDatabase('nexus_export');
      env.DATABASE_URL = database.url;
    }
    built = await buildTenant(await start());
  }, 60_000);
  afterAll(async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('streams every line type to the owner, every store included, with the end counts matching', async () => {
    const res = await exportOf(nexus, built.t.ownerToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    original = await res.text();
    const lines = linesOf(original);
    expect(lines.map((l) => l.type).filter((type, i, all) => all[i - 1] !== type)).toEqual(['nexus-export', 'tenant', 'identity', 'domain', 'surface', 'mount', 'wallet', 'ledger', 'record', 'end']);
    expect(lines[0]).toEqual({ type: 'nexus-export', version: 1, exportedAt: expect.any(String), vectorDimension: DIM });
    expect(lines[1]).toEqual({ type: 'tenant', id: built.t.tenantId, createdAt: expect.any(String) });
    expect(lines[2]).toEqual({ type: 'identity', email: built.t.email, displayName: 'Test Person' });
    expect(lines.filter((l) => l.type === 'domain').map((l) => l.key)).toEqual(['business', 'finance', 'health']);
    expect(lines.filter((l) => l.type === 'surface')).toEqual([
      { type: 'surface', key: 'agnx', name: 'agnx', kind: 'CONNECTOR', homeDomain: 'business', createdAt: expect.any(String) },
      { type: 'surface', key: 'vo2', name: 'vo2', kind: 'APP', homeDomain: 'health', createdAt: expect.any(String) },
    ]);
    expect(lines.filter((l) => l.type === 'mount').map(({ surface, domain, access }) => `${surface}:${domain}:${access}`)).toEqual([
      'agnx:business:READ_WRITE', 'agnx:health:READ_WRITE', 'vo2:finance:READ', 'vo2:health:READ_WRITE',
    ]);
    expect(lines.find((l) => l.type === 'wallet')).toEqual({ type: 'wallet', balance: '960' });
    const ledger = lines.filter((l) => l.type === 'ledger');
    expect(ledger.map(({ kind, amount, balanceAfter, reason, idempotencyKey, surface }) => ({ kind, amount, balanceAfter, reason, idempotencyKey, surface }))).toEqual([
      { kind: 'TOP_UP', amount: '1000', balanceAfter: '1000', reason: 'first top-up', idempotencyKey: 'top-1', surface: null },
      { kind: 'BURN', amount: '-10', balanceAfter: '990', reason: 'embedding', idempotencyKey: 'burn-1', surface: 'vo2' },
      { kind: 'BURN', amount: '-25', balanceAfter: '965', reason: 'sync run', idempotencyKey: 'burn-2', surface: 'agnx' },
      { kind: 'BURN', amount: '-5', balanceAfter: '960', reason: 'owner burn', idempotencyKey: 'burn-3', surface: null },
    ]);
    const records = lines.filter((l) => l.type === 'record');
    const where = (l: Line) => {
      const s = l.store as { scope: string; domain?: string; surface?: string };
      return s.domain ?? s.surface ?? 'global';
    };
    expect(records.map((r) => `${where(r)}/${r.id as string}`).filter((id) => !/[0-9a-f]{8}-/.test(id))).toEqual([
      'business/invoice-7', 'finance/budget', 'finance/huge', 'finance/tiny', 'health/leg-day', 'health/note-1', 'health/sleep-1', 'global/me', 'agnx/draft', 'vo2/ui-state',
    ]);
    expect(records).toHaveLength(12);
    expect(records.filter((r) => 'unitBase64' in r).map((r) => r.id)).toEqual(['huge', 'tiny']);
    const leg = records.find((r) => r.id === 'leg-day');
    expect(leg).toMatchObject({ store: { scope: 'DOMAIN', domain: 'health' }, kind: 'workout', text: 'heavy leg day', metadata: { sets: 5, tags: ['legs'] }, occurredAt: '2024-03-01T07:30:00.000Z', writer: 'vo2' });
    expect(records.find((r) => r.id === 'sleep-1')).toMatchObject({ writer: 'agnx', norm: expect.any(Number) });
    expect(records.find((r) => r.id === 'budget')).toMatchObject({ writer: null });
    expect(records.find((r) => r.id === 'note-1')).toMatchObject({ vectorBase64: null, norm: null, text: 'text only: resting heart rate 52' });
    expect(records.find((r) => r.id === 'ui-state')).toMatchObject({ store: { scope: 'SURFACE', surface: 'vo2' }, writer: 'vo2', metadata: { tab: 2 } });
    expect(records.find((r) => r.id === 'draft')).toMatchObject({ store: { scope: 'SURFACE', surface: 'agnx' }, vectorBase64: null });
    expect(lines.at(-1)).toEqual({ type: 'end', records: 12, ledgerEntries: 4 });
  });

  it('gives the vector back as written: vectorBase64 is unit × norm, to float32 precision', async () => {
    const search = await nexus.gql(`query { domain(key: "health") { search(input: { vectorBase64: "${float32Base64(new Float32Array(DIM).fill(1))}", k: 10 }) { record { id vector } } } }`, {}, built.t.ownerToken);
    expect(search.errors).toBeUndefined();
    const byId = new Map(linesOf(original).filter((l) => l.type === 'record').map((l) => [l.id as string, l]));
    for (const hit of search.data!.domain.search as { record: { id: string; vector: number[] } }[]) {
      const line = byId.get(hit.record.id);
      const bytes = Buffer.from(line!.vectorBase64 as string, 'base64');
      const exported = new Float32Array(bytes.buffer, bytes.byteOffset, DIM);
      expect(Array.from(exported)).toEqual(hit.record.vector.map((x) => Math.fround(x)));
    }
  });

  it('refuses a surface token (FORBIDDEN), no token and a bad token (UNAUTHENTICATED), as JSON errors', async () => {
    const answers = await Promise.all([exportOf(nexus, built.vo2.token), exportOf(nexus), exportOf(nexus, `nxo_${'x'.repeat(43)}`), exportOf(nexus, 'garbage')]);
    expect(answers.map((r) => r.status)).toEqual([403, 401, 401, 401]);
    for (const [i, res] of answers.entries()) {
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors).toEqual([{ message: expect.any(String), extensions: { code: i === 0 ? 'FORBIDDEN' : 'UNAUTHENTICATED' } }]);
    }
    const post = await nexus.server.yoga.fetch('http://nexus.test/export', { method: 'POST', headers: { authorization: `Bearer ${built.t.ownerToken}` } });
    expect(post.status).toBe(405);
  });

  it('never exports a token, nor a token hash', () => {
    for (const token of [built.t.ownerToken, built.vo2.token, built.agnx.token]) {
      expect(original).not.toContain(token);
      expect(original).not.toContain(token.slice(4, 20));
      expect(original).not.toContain(createHash('sha256').update(token).digest('hex').slice(0, 12));
    }
    expect(original).not.toMatch(/nx[os]_/);
  });

  it('refuses, naming the line, any file that is not a complete and consistent export', async () => {
    const lines = original.trimEnd().split('\n');
    const at = (type: string, from = 0) => lines.findIndex((l, i) => i >= from && l.startsWith(`{"type":"${type}"`));
    const edited = (i: number, edit: (line: Line) => Line) => lines.map((l, j) => (j === i ? JSON.stringify(edit(JSON.parse(l) as Line)) : l));
    const check = (text: string[]) => checkExport(() => splitLines((async function* () { yield `${text.join('\n')}\n`; })()), DIM);
    const refused = async (text: string[], message: RegExp) => {
      await expect(check(text)).rejects.toThrow(ExportFileError);
      await expect(check(text)).rejects.toThrow(message);
    };
    await expect(check(lines)).resolves.toMatchObject({ records: 12, ledgerEntries: 4, balance: 960n });
    const firstRecord = at('record');
    const firstLedger = at('ledger');
    await refused(lines.slice(0, -1), /before its end line: a cut export/);
    await refused([...lines, lines[0]!], new RegExp(`line ${lines.length + 1}: nothing may follow the end line`));
    await refused([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)], /line 2: out of order: identity after nexus-export \(the order is nexus-export, tenant, identity, /);
    await refused(edited(0, (l) => ({ ...l, vectorDimension: 384 })), /line 1: its vectors have 384 dimensions and this deployment's 8/);
    await refused(edited(0, (l) => ({ ...l, version: 2 })), /line 1: nexus-export line: version/);
    await refused(edited(firstRecord, (l) => ({ ...l, colour: 'red' })), new RegExp(`line ${firstRecord + 1}: record line: .*colour`));
    await refused(edited(firstRecord, (l) => ({ ...l, type: 'secret' })), new RegExp(`line ${firstRecord + 1}: unknown line type "secret"`));
    await refused(edited(firstRecord, (l) => ({ ...l, writer: 'nobody' })), /record written by an unknown surface nobody/);
    await refused(edited(firstRecord, (l) => ({ ...l, norm: (l.norm as number) * 2 })), /norm is not the length of vectorBase64/);
    await refused(edited(firstRecord, (l) => ({ ...l, vectorBase64: 'AAAA' })), /vectorBase64 must decode to exactly 32 bytes/);
    await refused([...lines.slice(0, firstRecord + 1), lines[firstRecord]!, ...lines.slice(firstRecord + 1)], /line \d+: record invoice-7 appears twice in the store of domain business/);
    await refused(edited(firstLedger + 1, (l) => ({ ...l, balanceAfter: '991' })), new RegExp(`line ${firstLedger + 2}: ledger line: balanceAfter 991 does not follow`));
    await refused(edited(firstLedger, (l) => ({ ...l, idempotencyKey: 'a\u200bb' })), /idempotencyKey must be/);
    await refused(edited(at('wallet'), (l) => ({ ...l, balance: '961' })), /the wallet balance 961 is not the ledger's sum \(960\)/);
    await refused(edited(lines.length - 1, (l) => ({ ...l, records: 11 })), /the end line counts 4 ledger entries and 11 records; the file holds 4 and 12/);
    await refused(['not json', ...lines.slice(1)], /line 1: not a JSON object/);
  });

  it('round-trips through tenant:export and tenant:import into a fresh tenant that exports the same', async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'nexus-export-files-'));
    try {
      await stop();
      const file = path.join(work, 'person.jsonl');
      const exported = await cli('tenant:export', built.t.tenantId, file, '--progress', '4');
      expect(exported).toMatchObject({ code: 0, out: '' });
      expect(exported.err).toMatch(/4 records exported/);
      expect(exported.err).toMatch(new RegExp(`exported tenant ${built.t.tenantId}: 12 records, 4 ledger entries to `));
      const text = await readFile(file, 'utf8');
      expect(withoutNew(linesOf(text))).toEqual(withoutNew(linesOf(original)));
      const stdout = await cli('tenant:export', built.t.tenantId);
      expect(withoutNew(linesOf(stdout.out))).toEqual(withoutNew(linesOf(original)));

      // The export's email is taken here: CONFLICT, exit 1, nothing written.
      const taken = await cli('tenant:import', file);
      expect(taken).toMatchObject({ code: 1, out: '' });
      expect(taken.err).toMatch(/^nexus: a tenant with the email .* exists already: give the imported identity another with --email <address>\n$/);

      // A cut file and a bad line: exit 1, the line named, nothing written.
      const cut = path.join(work, 'cut.jsonl');
      await writeFile(cut, text.split('\n').slice(0, -2).join('\n'));
      const cutRun = await cli('tenant:import', cut, '--email', uniqueEmail('cut'));
      expect(cutRun.code).toBe(1);
      expect(cutRun.err).toMatch(/before its end line: a cut export is not imported; nothing was imported\n$/);
      const bad = path.join(work, 'bad.jsonl');
      const badLines = text.split('\n');
      const n = badLines.findIndex((l) => l.includes('"leg-day"'));
      badLines[n] = badLines[n]!.replace('"kind":"workout"', '"kind":"../etc"');
      await writeFile(bad, badLines.join('\n'));
      const badRun = await cli('tenant:import', bad, '--email', uniqueEmail('bad'));
      expect(badRun.code).toBe(1);
      expect(badRun.err).toContain(`line ${n + 1}: record line: kind must be`);
      const badKey = path.join(work, 'bad-key.jsonl');
      await writeFile(badKey, text.replace('"key":"health"', '"key":"../health"'));
      expect((await cli('tenant:import', badKey, '--email', uniqueEmail('bad'))).err).toMatch(/line 6: domain line: key must match/);
      expect((await cli('tenant:import', path.join(work, 'none.jsonl'))).code).toBe(1);
      expect((await cli('tenant:import', file, '--email', 'not an address')).code).toBe(2);

      const email = uniqueEmail('imported');
      const imported = await cli('tenant:import', file, '--email', email, '--json');
      expect(imported.code).toBe(0);
      const report = JSON.parse(imported.out) as { tenantId: string; ownerToken: string; email: string; records: number; ledgerEntries: number };
      expect(report).toMatchObject({ email, records: 12, ledgerEntries: 4, domains: 3, surfaces: 2 });
      expect(report.tenantId).not.toBe(built.t.tenantId);
      expect(report.ownerToken).toMatch(/^nxo_/);

      await start();
      const prisma = nexus.server.services.db.prisma;
      // Only the one import made a tenant: the refused ones left nothing.
      expect(await prisma.tenant.count()).toBe(2);
      const again = await exportOf(nexus, report.ownerToken);
      expect(again.status).toBe(200);
      const copy = linesOf(await again.text());
      expect(copy[1]).toMatchObject({ id: report.tenantId });
      expect(copy[2]).toMatchObject({ email });
      expect(withoutNew(copy)).toEqual(withoutNew(linesOf(original)));
      // New entry ids and seq, the same entries.
      const [a, b] = await Promise.all([built.t.tenantId, report.tenantId].map((tenantId) => prisma.ledgerEntry.findMany({ where: { wallet: { tenantId } }, orderBy: { seq: 'asc' } })));
      expect(b!.map((e) => e.id).some((id) => a!.some((x) => x.id === id))).toBe(false);
      expect(b!.map((e) => e.reason)).toEqual(a!.map((e) => e.reason));

      // The new owner searches the imported stores: by vector, by text, across the fused domains.
      const found = await nexus.gql(SEARCH, { input: { text: 'resting heart rate', k: 3 } }, report.ownerToken);
      expect(found.errors).toBeUndefined();
      expect(found.data!.search.hits[0].record).toMatchObject({ id: 'note-1', surface: { key: 'vo2' } });
      // The new token is the new tenant's owner.
      expect((await nexus.gql('{ viewer { tenant { id } } }', {}, report.ownerToken)).data).toEqual({ viewer: { tenant: { id: report.tenantId } } });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('removes the half-made tenant, rows and store files, when a record write fails midway', async () => {
    const services = nexus.server.services;
    const root = path.join(dataDir, 'vectors');
    const tenantsBefore = await services.db.prisma.tenant.count();
    const dirsBefore = await readdir(root);
    let writes = 0;
    const vectors = {
      ...services.vectors,
      restore: async (store: Parameters<typeof services.vectors.restore>[0], records: Parameters<typeof services.vectors.restore>[1]) => {
        writes += 1;
        if (writes === 3) throw new Error('the disk is full');
        return services.vectors.restore(store, records);
      },
    };
    const email = uniqueEmail('midway');
    const lines = () => splitLines((async function* () { yield original; })());
    await expect(importTenant({ prisma: services.db.prisma, vectors, objects: services.objects, vectorDimension: DIM }, lines, { email })).rejects.toThrow('the disk is full');
    expect(writes).toBe(3);
    expect(await services.db.prisma.tenant.count()).toBe(tenantsBefore);
    expect(await services.db.prisma.identity.findUnique({ where: { email } })).toBeNull();
    expect(await readdir(root)).toEqual(dirsBefore);
  });

  it('reads the stores only as fast as the client reads: 20,000 records with a flat heap', async () => {
    const t = await signUpTenant(nexus, ['health']);
    const filler = 'x'.repeat(900);
    for (let batch = 0; batch < 20; batch++) {
      const records = Array.from({ length: 1000 }, (_, i) => ({ id: `r-${batch}-${i}`, kind: 'note', text: `${filler} ${batch} ${i}`, vectorBase64: float32Base64(vector()) }));
      const res = await nexus.gql(REMEMBER, { input: { domain: 'health', records } }, t.ownerToken);
      expect(res.errors).toBeUndefined();
    }
    // Count the batches the stores hand over, to see that reading waits for the reader.
    const vectors = nexus.server.services.vectors as { scanStore: (store: never, onBatch: (records: StoredRecord[]) => Promise<void>) => Promise<number> };
    const scanStore = vectors.scanStore;
    let batches = 0;
    vectors.scanStore = (store, onBatch) => scanStore(store, (records) => ((batches += 1), onBatch(records)));
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    try {
      gc();
      const used = () => {
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const before = used();
      const res = await exportOf(nexus, t.ownerToken);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // One LanceDB batch read ahead at most, while the whole store is about 20 of them.
      expect(batches).toBeLessThanOrEqual(2);
      let bytes = first.value!.byteLength;
      let peak = 0;
      let tail = '';
      for (let chunk = 1; ; chunk++) {
        const next = await reader.read();
        if (next.done) break;
        bytes += next.value.byteLength;
        tail = Buffer.from(next.value).toString('utf8').slice(-200);
        if (chunk % 40 === 0) {
          // A slow reader: the stream waits for it.
          await new Promise((resolve) => setTimeout(resolve, 5));
          gc();
          peak = Math.max(peak, used() - before);
        }
      }
      expect(tail).toContain('{"type":"end","records":20000,"ledgerEntries":0}');
      expect(bytes).toBeGreaterThan(20_000_000);
      // The export is over 20 MB; one read ahead would hold much of it.
      expect(peak).toBeLessThan(10_000_000);

      // A reader that goes away midway ends the scan (its table is let go), and the end line was never sent.
      const scans: Promise<unknown>[] = [];
      vectors.scanStore = (store, onBatch) => {
        const scan = scanStore(store, onBatch);
        scans.push(scan.catch(() => undefined));
        return scan;
      };
      const cut = (await exportOf(nexus, t.ownerToken)).body!.getReader();
      await cut.read();
      await cut.cancel();
      await expect(Promise.race([Promise.all(scans).then(() => 'ended'), new Promise((resolve) => setTimeout(resolve, 5000, 'still scanning'))])).resolves.toBe('ended');
      expect(scans).toHaveLength(1);
    } finally {
      vectors.scanStore = scanStore;
    }
  }, 90_000);
});

describe('export and import on S3 storage', () => {
  let s3: S3TestServer;
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    s3 = await startS3Server();
    dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-export-s3-'));
    env = {
      NEXUS_DATA_DIR: dataDir,
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_STORAGE_URI: 's3://nexus/stores',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
  });
  afterAll(async () => {
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exports stores kept on S3 to s3://bucket/key and imports them back from there', async () => {
    let nexus = await startNexus({ env });
    let built: Awaited<ReturnType<typeof buildTenant>>;
    let original: string;
    try {
      built = await buildTenant(nexus);
      original = await (await exportOf(nexus, built.t.ownerToken)).text();
    } finally {
      await nexus.close();
    }
    const cli = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(argv, { env: { ...env, LOG_LEVEL: 'silent' }, output: { out: (x) => void (out += x), err: (x) => void (err += x) } });
      return { code, out, err };
    };
    const exported = await cli('tenant:export', built.t.tenantId, 's3://nexus/exports/person.jsonl');
    expect(exported.code).toBe(0);
    expect(exported.err).toContain('to s3://nexus/exports/person.jsonl');
    expect((await cli('tenant:export', built.t.tenantId, 's3://nexus/')).code).toBe(2);
    const email = uniqueEmail('s3');
    const imported = await cli('tenant:import', 's3://nexus/exports/person.jsonl', '--email', email, '--json');
    expect(imported).toMatchObject({ code: 0, err: expect.stringContaining('imported 3 domains') });
    const report = JSON.parse(imported.out) as { tenantId: string; ownerToken: string };
    nexus = await startNexus({ env });
    try {
      const copy = linesOf(await (await exportOf(nexus, report.ownerToken)).text());
      expect(withoutNew(copy)).toEqual(withoutNew(linesOf(original)));
    } finally {
      await nexus.close();
    }
  }, 120_000);
});
