// One structured logger (pino) for the whole server. Secrets are redacted by
// path, and request-scoped children carry the request id on every line.
import { pino, type Logger } from 'pino';

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

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'nexus' }, redact: { paths: REDACT, censor: '[redacted]' } });
}
