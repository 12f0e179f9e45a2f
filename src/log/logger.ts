// One structured logger (pino) for the whole server. Secrets are redacted by
// path, and request-scoped children carry the request id on every line.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'authorization',
  'token',
  'ownerToken',
  '*.authorization',
  '*.token',
  '*.ownerToken',
  'headers.authorization',
  'req.headers.authorization',
  'variables.*.token',
];

/** The server's logger; `destination` (default stdout) lets tests read what would be written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'nexus' }, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
