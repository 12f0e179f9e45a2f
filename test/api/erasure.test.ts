// Erasure is physical: a tenant's every row and every stored object go, its tokens stop at once, a crash midway is
// finished at the next start-up, and the email may sign up again. A surface can be removed the same way. On PGlite
// with local disk, and on PostgreSQL with the S3 test server.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSurface, signUpTenant, type TestSurface, type TestTenant } from '../helpers/fixtures.js';
import { codes, createTestDatabase, postgresAvailable, startNexus, type Backend, type GqlResult, type TestNexus } from '../helpers/nexus.js';
import { startS3ServerProcess, type S3ServerProcess } from '../helpers/s3-server-process.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const DIM = 8;
const REMEMBER = `mutation($i: RememberInput!) { remember(input: $i) { records { id } } }`;
const WHO = `{ viewer { tenant { id } } }`;
const unit = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0));

/** Every file under a directory (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The operator's CLI as `npm run nexus --` runs it, with only the environment given. */
function nexusCli(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const PLACES: [Backend, 'local' | 's3'][] = [['pglite', 'local']];
if (await postgresAvailable()) PLACES.push(['postgresql', 's3']);

describe.each(PLACES)('erasure (%s, %s storage)', (backend, storage) => {
  let s3: S3TestServer | undefined;
  let env: Record<string, string>;
  let nexus: TestNexus;
  // The server before a restart: closed already, but its database (PostgreSQL) is dropped only by its close().
  let previous: TestNexus | undefined;

  beforeAll(async () => {
    env = { NEXUS_VECTOR_DIM: String(DIM), NEXUS_TEXT_OPTIMIZE_ROWS: '1000000' };
    if (storage === 's3') {
      s3 = await startS3Server();
      Object.assign(env, {
        NEXUS_STORAGE_URI: 's3://nexus/erasure',
        AWS_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      });
    }
    nexus = await startNexus({ backend, env });
  });
  afterAll(async () => {
    await nexus?.close();
    await previous?.close().catch(() => undefined);
    await s3?.stop();
  });

  /** Where a tenant's objects live: the S3 server's directory for the bucket prefix, or the storage directory. */
  const tenantFiles = (tenantId: string) =>
    filesUnder(storage === 's3' ? path.join(s3!.directory, 'nexus', 'erasure', tenantId) : path.join(nexus.server.services.config.storageUri, tenantId));

  /** Rows of a tenant left in every table of the control plane. */
  async function rowsOf(tenantId: string): Promise<Record<string, number>> {
    const p = nexus.server.services.db.prisma;
    const wallet = await p.wallet.findUnique({ where: { tenantId } });
    return {
      tenant: await p.tenant.count({ where: { id: tenantId } }),
      identity: await p.identity.count({ where: { tenantId } }),
      wallet: wallet ? 1 : 0,
      ledger: wallet ? await p.ledgerEntry.count({ where: { walletId: wallet.id } }) : 0,
      domains: await p.domain.count({ where: { tenantId } }),
      surfaces: await p.surface.count({ where: { tenantId } }),
      mounts: await p.mount.count({ where: { surface: { tenantId } } }),
      tokens: await p.token.count({ where: { tenantId } }),
      erasures: await p.erasure.count({ where: { tenantId } }),
    };
  }
  const NONE = { tenant: 0, identity: 0, wallet: 0, ledger: 0, domains: 0, surfaces: 0, mounts: 0, tokens: 0, erasures: 0 };

  /** A tenant with records in 3 domains, the global store and a surface's private store, and a ledger. */
  async function populated(): Promise<{ t: TestTenant; vo2: TestSurface; sleep: TestSurface }> {
    const t = await signUpTenant(nexus, ['health', 'business', 'finance']);
    const vo2 = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const sleep = await addSurface(nexus, t.ownerToken, { key: 'sleep', homeDomain: 'business', mounts: [{ domain: 'health', access: 'READ' }] });
    for (const [domain, i] of [['health', 0], ['business', 1], ['finance', 2]] as const) {
      const res = await nexus.gql(REMEMBER, { i: { domain, records: [{ kind: 'n', text: `secret ${domain} entry`, vector: unit(i) }, { kind: 'n', text: `words only ${domain}` }] } }, t.ownerToken);
      expect(res.errors).toBeUndefined();
    }
    expect((await nexus.gql(REMEMBER, { i: { scope: 'GLOBAL', records: [{ kind: 'n', vector: unit(3) }] } }, t.ownerToken)).errors).toBeUndefined();
    expect((await nexus.gql(REMEMBER, { i: { scope: 'SURFACE', records: [{ kind: 'draft', text: 'private draft', vector: unit(4) }] } }, vo2.token)).errors).toBeUndefined();
    await nexus.gql(`mutation { topUpCredits(input: { amount: "50", reason: "start", idempotencyKey: "k1" }) { entry { id } } }`, {}, t.ownerToken);
    await nexus.gql(`mutation { burnCredits(input: { amount: "5", reason: "use", idempotencyKey: "k2" }) { entry { id } } }`, {}, vo2.token);
    await nexus.server.services.vectors.indexIdle();
    return { t, vo2, sleep };
  }

  it('erases a tenant: every row, every object, every token; another tenant untouched; the email free again', async () => {
    const { t, vo2, sleep } = await populated();
    const other = await populated();
    const otherFiles = await tenantFiles(other.t.tenantId);
    expect((await tenantFiles(t.tenantId)).length).toBeGreaterThan(20);
    expect(await rowsOf(t.tenantId)).toMatchObject({ tenant: 1, ledger: 2, domains: 3, surfaces: 2, tokens: 3 });

    // Usage, from the same storage: every store, its records and bytes; the owner's alone.
    const usage = await nexus.gql('{ viewer { tenant { usage { records bytes stores { scope key records bytes files } } } } }', {}, t.ownerToken);
    expect(usage.errors).toBeUndefined();
    const u = usage.data?.viewer.tenant.usage;
    expect(u.records).toBe(8);
    expect(u.stores.map((s: { scope: string; key: string | null; records: number }) => [s.scope, s.key, s.records])).toEqual([
      ['DOMAIN', 'business', 2],
      ['DOMAIN', 'finance', 2],
      ['DOMAIN', 'health', 2],
      ['GLOBAL', null, 1],
      ['SURFACE', 'sleep', 0],
      ['SURFACE', 'vo2', 1],
    ]);
    // The S3 test server keeps object "a/b" as a/b._S3rver_object beside its checksum and metadata files.
    const files = (await tenantFiles(t.tenantId)).filter((f) => storage === 'local' || f.endsWith('._S3rver_object'));
    expect(u.stores.reduce((n: number, s: { files: number }) => n + s.files, 0)).toBe(files.length);
    expect(BigInt(u.bytes)).toBeGreaterThan(0n);
    expect(codes(await nexus.gql('{ viewer { tenant { usage { bytes } } } }', {}, vo2.token))).toEqual(['FORBIDDEN']);

    // A surface may not; the confirmation must be the tenant's own id.
    expect(codes(await nexus.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: t.tenantId }, vo2.token))).toEqual(['FORBIDDEN']);
    expect(codes(await nexus.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: other.t.tenantId }, t.ownerToken))).toEqual(['BAD_USER_INPUT']);
    expect((await rowsOf(t.tenantId)).tenant).toBe(1);

    const res = await nexus.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: t.tenantId }, t.ownerToken);
    expect(res.errors).toBeUndefined();
    expect(res.data?.deleteTenant).toBe(true);

    expect(await tenantFiles(t.tenantId)).toEqual([]);
    expect(await rowsOf(t.tenantId)).toEqual(NONE);
    for (const token of [t.ownerToken, vo2.token, sleep.token]) expect(codes(await nexus.gql(WHO, {}, token))).toEqual(['UNAUTHENTICATED']);
    // The other tenant keeps every file and can still read its records.
    expect((await tenantFiles(other.t.tenantId)).sort()).toEqual(otherFiles.sort());
    const search = await nexus.gql('{ search(input: { text: "secret", k: 10 }) { hits { record { id } } } }', {}, other.t.ownerToken);
    expect(search.data?.search.hits).toHaveLength(3);

    // The same person may come back, to an empty account.
    const again = await nexus.gql('mutation($e: String!) { signUp(input: { email: $e }) { ownerToken tenant { id } } }', { e: t.email });
    expect(again.errors).toBeUndefined();
    expect(again.data?.signUp.tenant.id).not.toBe(t.tenantId);
    // Erasing again is harmless.
    expect((await nexus.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: t.tenantId }, t.ownerToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('finishes an erasure that a crash interrupted, at the next start-up', async () => {
    const { t, vo2 } = await populated();
    const prisma = nexus.server.services.db.prisma;
    // What the first step leaves behind if the process dies right after it: the record and the revoked tokens.
    await prisma.$transaction([
      prisma.erasure.create({ data: { tenantId: t.tenantId, requestedBy: 'owner' } }),
      prisma.token.updateMany({ where: { tenantId: t.tenantId }, data: { revokedAt: new Date() } }),
    ]);
    expect((await tenantFiles(t.tenantId)).length).toBeGreaterThan(0);

    // Restart on the same data (PGlite: the same directory; PostgreSQL: the same database).
    const dataDir = nexus.dataDir;
    const databaseUrl = nexus.server.services.config.databaseUrl;
    await nexus.server.close();
    previous = nexus;
    nexus = await startNexus({ backend: 'pglite', env: { ...env, NEXUS_DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) } });
    const deadline = Date.now() + 20_000;
    while ((await nexus.server.services.db.prisma.erasure.count()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await rowsOf(t.tenantId)).toEqual(NONE);
    expect(await tenantFiles(t.tenantId)).toEqual([]);
    expect(codes(await nexus.gql(WHO, {}, vo2.token))).toEqual(['UNAUTHENTICATED']);
  });

  // With PGlite the command line needs the gateway stopped (one process per data directory): PostgreSQL only.
  if (backend === 'postgresql') it('lists, measures and erases from the operator\'s command line while a gateway runs', async () => {
    const { t, vo2 } = await populated();
    const cliEnv = { ...env, DATABASE_URL: nexus.server.services.config.databaseUrl!, NEXUS_DATA_DIR: nexus.dataDir };
    const listed = await nexusCli(['tenant:list', '--by-bytes'], cliEnv);
    expect(listed.status).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^tenant\s+email\s+domains\s+surfaces\s+balance\s+created\s+records\s+bytes$/);
    expect(listed.stdout).toContain(t.tenantId);
    const usage = await nexusCli(['usage', t.tenantId], cliEnv);
    expect(usage.status).toBe(0);
    expect(usage.stdout).toMatch(/^DOMAIN\s+health\s+2\s+\d+/m);
    expect(usage.stdout).toMatch(/^total\s+8\s+/m);

    const missing = await nexusCli(['tenant:erase', 'tnosuchtenant'], cliEnv);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^nexus: no tenant tnosuchtenant/);
    const erased = await nexusCli(['tenant:erase', t.tenantId], cliEnv);
    expect(erased.status).toBe(0);
    expect(erased.stdout).toMatch(new RegExp(`^erased ${t.tenantId}: \\d+ objects removed`));
    // The running gateway was told: the tokens it had just used are refused at once, and nothing is left.
    expect(codes(await nexus.gql(WHO, {}, vo2.token))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await nexus.gql(WHO, {}, t.ownerToken))).toEqual(['UNAUTHENTICATED']);
    expect(await rowsOf(t.tenantId)).toEqual(NONE);
    expect(await tenantFiles(t.tenantId)).toEqual([]);
  });

  it('removes a surface: its tokens, mounts and private store, keeping its domain records and the ledger', async () => {
    const { t, vo2, sleep } = await populated();
    const privateDir = storage === 's3' ? path.join(s3!.directory, 'nexus', 'erasure', t.tenantId, 'surfaces', 'vo2') : path.join(nexus.server.services.config.storageUri, t.tenantId, 'surfaces', 'vo2');
    expect((await filesUnder(privateDir)).length).toBeGreaterThan(0);
    expect((await nexus.gql(REMEMBER, { i: { records: [{ id: 'by-vo2', kind: 'n', vector: unit(5) }] } }, vo2.token)).errors).toBeUndefined();

    expect(codes(await nexus.gql('mutation { deleteSurface(key: "vo2") }', {}, sleep.token))).toEqual(['FORBIDDEN']);
    expect(codes(await nexus.gql('mutation { deleteSurface(key: "nope") }', {}, t.ownerToken))).toEqual(['NOT_FOUND']);
    expect((await nexus.gql('mutation { deleteSurface(key: "vo2") }', {}, t.ownerToken)).data?.deleteSurface).toBe(true);

    expect(await filesUnder(privateDir)).toEqual([]);
    expect(codes(await nexus.gql(WHO, {}, vo2.token))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await nexus.gql(WHO, {}, sleep.token))).toEqual([]);
    const prisma = nexus.server.services.db.prisma;
    expect(await prisma.surface.count({ where: { tenantId: t.tenantId, key: 'vo2' } })).toBe(0);
    // The ledger keeps the burn, now without a surface; the domain keeps what vo2 wrote there.
    const ledger = await nexus.gql('{ wallet { balance ledger(first: 10) { amount surface { key } } } }', {}, t.ownerToken);
    expect(ledger.data?.wallet).toEqual({ balance: '45', ledger: [{ amount: '-5', surface: null }, { amount: '50', surface: null }] });
    const kept = await nexus.gql('{ domain(key: "health") { search(input: { vector: [0,0,0,0,0,1,0,0], k: 1 }) { record { id surface { key } } } } }', {}, t.ownerToken);
    expect(kept.data?.domain.search).toEqual([{ record: { id: 'by-vo2', surface: null } }]);
    // A new surface with the same key starts with an empty private store.
    const again = await addSurface(nexus, t.ownerToken, { key: 'vo2', homeDomain: 'health' });
    const mine = await nexus.gql('{ search(input: { vector: [0,0,0,0,1,0,0,0], domains: [], includeSurface: true }) { hits { record { id } } } }', {}, again.token);
    expect(mine.data?.search.hits).toEqual([]);
  });
});

(await postgresAvailable() ? describe : describe.skip)('an erasure killed midway (a gateway process, SIGKILL, on S3)', () => {
  const gateways: GatewayProcess[] = [];
  let s3: S3ServerProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    if (s3) process.kill(s3.pid, 'SIGCONT');
    await Promise.all(gateways.map((g) => g.stop()));
    await s3?.stop();
    await drop?.();
  });

  it('is finished by the next start-up: no row, no object, no token left', async () => {
    const database = await createTestDatabase('nexus_erase_kill');
    drop = database.drop;
    s3 = await startS3ServerProcess();
    const env = {
      DATABASE_URL: database.url,
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_DATA_DIR: path.join(tmpdir(), `nexus-erase-kill-${randomBytes(4).toString('hex')}`),
      NEXUS_STORAGE_URI: 's3://nexus/kill',
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      NEXUS_RATE_LIMIT_PER_MINUTE: '0',
    };
    const first = await startGatewayProcess(env);
    gateways.push(first);
    const email = `kill-${Date.now()}@example.com`;
    const signUp = await first.gql('mutation($e: String!) { signUp(input: { email: $e, domains: ["health", "business"] }) { ownerToken tenant { id } } }', { e: email });
    const { ownerToken, tenant } = signUp.data.signUp as { ownerToken: string; tenant: { id: string } };
    for (const domain of ['health', 'business']) {
      const res = await first.gql(REMEMBER, { i: { domain, records: [{ kind: 'n', text: 'a note', vector: unit(1) }] } }, ownerToken);
      expect(res.errors).toBeUndefined();
    }
    const dir = path.join(s3.directory, 'nexus', 'kill', tenant.id);
    expect((await filesUnder(dir)).length).toBeGreaterThan(0);

    // The bucket is frozen; the erasure begins (recorded, tokens revoked: the database only), its first deletion
    // hangs on the bucket, and the gateway dies there.
    process.kill(s3.pid, 'SIGSTOP');
    void first.gql('mutation($c: String!) { deleteTenant(confirm: $c) }', { c: tenant.id }, ownerToken).catch(() => undefined);
    for (let i = 0; i < 400 && !first.output().includes('erasing tenant'); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(first.output()).toContain('erasing tenant');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await first.kill('SIGKILL');
    process.kill(s3.pid, 'SIGCONT');
    expect((await filesUnder(dir)).length).toBeGreaterThan(0);

    const second = await startGatewayProcess(env);
    gateways.push(second);
    expect(codes((await second.gql(WHO, {}, ownerToken)) as GqlResult)).toEqual(['UNAUTHENTICATED']);
    for (let i = 0; i < 400 && !second.output().includes('interrupted erasure finished'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second.output()).toContain('interrupted erasure finished');
    expect(await filesUnder(dir)).toEqual([]);
    // Every row went: the same email signs up again.
    const again = await second.gql('mutation($e: String!) { signUp(input: { email: $e }) { tenant { id } } }', { e: email });
    expect(again.errors).toBeUndefined();
  }, 120_000);
});
