// Two gateway processes writing to the same domain on S3 at once lose no rows:
// LanceDB's conditional commits, honoured by the S3 server, serialise them.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { PG_ADMIN_URL, postgresAvailable } from '../helpers/nexus.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const DIM = 8;
const pgUp = await postgresAvailable();

(pgUp ? describe : describe.skip)('two gateway processes on one S3 bucket', () => {
  let s3: S3TestServer | undefined;
  const gateways: GatewayProcess[] = [];
  const database = `nexus_test_${randomBytes(6).toString('hex')}`;

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await s3?.stop();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('keeps every row when both write to the same domain concurrently', async () => {
    s3 = await startS3Server();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const env = {
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${database}`,
      NEXUS_STORAGE_URI: 's3://nexus/shared',
      NEXUS_VECTOR_DIM: String(DIM),
      NEXUS_DATA_DIR: path.join(tmpdir(), `nexus-gw-${randomBytes(4).toString('hex')}`),
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    const [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
    gateways.push(a!, b!);

    const signUp = await a!.gql('mutation($e: String!) { signUp(input: { email: $e }) { ownerToken } }', { e: `gw-${Date.now()}@example.com` });
    const owner = signUp.data.signUp.ownerToken as string;
    await a!.gql('mutation { createSurface(input: { key: "vo2", homeDomain: "health" }) { key } }', {}, owner);
    const token = (await b!.gql('mutation { issueSurfaceToken(input: { surface: "vo2" }) { token } }', {}, owner)).data.issueSurfaceToken.token as string;

    const batches = 8;
    const perBatch = 25;
    const write = (gw: GatewayProcess, name: string) =>
      Array.from({ length: batches }, (_, i) =>
        gw.gql(
          'mutation($r: [RecordInput!]!) { remember(input: { records: $r }) { records { id } } }',
          { r: Array.from({ length: perBatch }, (_, j) => ({ id: `${name}-${i}-${j}`, kind: 'workout', vector: Array.from({ length: DIM }, (_, d) => ((i * 31 + j * 7 + d) % 11) + 1) })) },
          token,
        ),
      );
    const results = await Promise.all([...write(a!, 'a'), ...write(b!, 'b')]);
    for (const r of results) expect(r.errors).toBeUndefined();

    const expected = 2 * batches * perBatch;
    for (const gw of [a!, b!]) {
      const count = await gw.gql('{ domain(key: "health") { recordCount } }', {}, owner);
      expect(count.data?.domain?.recordCount).toBe(expected);
    }
  });
});
