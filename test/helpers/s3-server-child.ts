// Child process of s3-server-process.ts: runs the S3 test server on the directory (and port) given as arguments, prints
// where it listens as one JSON line, and stops when its stdin closes. The parent removes the directory.
import { startS3Server } from './s3-server.js';

const [directory, port] = process.argv.slice(2);
if (!directory) throw new Error('usage: s3-server-child.ts <directory> [port]');
const s3 = await startS3Server({ directory, port: port === undefined ? undefined : Number(port) });
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, port: s3.port })}\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await s3.stop();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
