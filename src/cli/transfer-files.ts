// Where tenant:export writes and tenant:import reads: a local file, stdout, or an object s3://bucket/key (through
// @aws-sdk/client-s3, configured by the standard AWS variables as for the stores). Writes respect back-pressure.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3ClientFor } from '../vectors/objects.js';
import type { S3Settings } from '../config/env.js';
import { splitLines } from '../tenancy/export-lines.js';
import { CliError } from './context.js';

const S3_OBJECT = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** An s3://bucket/key location, or null for a local path; CliError for an s3:// that names no object. */
export function s3Location(target: string): { bucket: string; key: string } | null {
  if (!target.startsWith('s3://')) return null;
  const match = S3_OBJECT.exec(target);
  if (!match?.[1] || !match[2] || match[2].endsWith('/')) throw new CliError(`${target}: an S3 location must be s3://bucket/key (an object, not a prefix)`, 2);
  return { bucket: match[1], key: match[2] };
}

function s3Client(settings: S3Settings): S3Client {
  return s3ClientFor(settings, {
    // A plain body with its length (no aws-chunked framing with trailing checksums), which every S3-compatible server reads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Writes every chunk, waiting whenever the destination asks to (never more than its buffer in memory). */
export async function writeAll(chunks: AsyncIterable<string>, destination: Writable): Promise<void> {
  for await (const chunk of chunks) {
    if (!destination.write(chunk)) await once(destination, 'drain');
  }
}

/** Writes to a file that appears only once complete (written beside it, then renamed): a cut export leaves nothing. */
async function toFile(file: string, chunks: AsyncIterable<string>): Promise<void> {
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.partial`);
  const out = createWriteStream(partial, { flags: 'wx' });
  try {
    await once(out, 'open');
    await writeAll(chunks, out);
    out.end();
    await finished(out);
    await rename(partial, file);
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

/** Writes the export to a file or to s3://bucket/key (through a local temporary file, uploaded once complete). */
export async function writeExport(target: string, chunks: AsyncIterable<string>, s3: S3Settings): Promise<void> {
  const location = s3Location(target);
  if (!location) return toFile(target, chunks);
  const dir = await mkdtemp(path.join(tmpdir(), 'nexus-export-'));
  const client = s3Client(s3);
  try {
    const file = path.join(dir, 'export.jsonl');
    await toFile(file, chunks);
    const { size } = await stat(file);
    await client.send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: createReadStream(file), ContentLength: size, ContentType: 'application/x-ndjson' }));
  } finally {
    client.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The lines of an export in a file or at s3://bucket/key, read afresh on each call (tenant:import reads twice).
 * A local file is checked to exist now, before any database is opened.
 */
export async function exportSource(target: string, s3: S3Settings): Promise<{ lines: () => AsyncIterable<string>; close(): void }> {
  const location = s3Location(target);
  if (!location) {
    const info = await stat(target).catch(() => null);
    if (!info?.isFile()) throw new CliError(`${target}: no such file`);
    return { lines: () => splitLines(createReadStream(target, { encoding: 'utf8' })), close: () => undefined };
  }
  const client = s3Client(s3);
  const { bucket, key } = location;
  async function* lines(): AsyncGenerator<string> {
    const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = answer.Body as Readable | undefined;
    if (!body) throw new CliError(`${target}: the object has no body`);
    body.setEncoding('utf8');
    yield* splitLines(body);
  }
  return { lines, close: () => client.destroy() };
}
