// Test helper, run as a child process by test/unit/s3-server.test.ts: one LanceDB writer that appends
// rows to an existing table on the S3 test server. Usage: node lancedb-writer.mjs <json options>
import * as lancedb from '@lancedb/lancedb';

const { endpoint, uri, table, writer, adds, rowsPerAdd, dim } = JSON.parse(process.argv[2] ?? '{}');
const db = await lancedb.connect(uri, {
  storageOptions: {
    endpoint,
    allow_http: 'true',
    aws_access_key_id: 'S3RVER',
    aws_secret_access_key: 'S3RVER',
    region: 'us-east-1',
  },
});
const tbl = await db.openTable(table);
for (let add = 0; add < adds; add++) {
  const rows = Array.from({ length: rowsPerAdd }, (_, row) => ({
    id: `w${writer}-a${add}-r${row}`,
    vector: Array.from({ length: dim }, (_, i) => (writer + add + row + i) / 100),
  }));
  await tbl.add(rows);
}
tbl.close();
db.close();
