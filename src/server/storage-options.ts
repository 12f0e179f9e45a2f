// LanceDB object-store options for an s3:// storage root, from the standard AWS settings, with bounded timeouts
// and retries so that a bucket that is down or hangs fails LanceDB's calls instead of holding them for minutes.
import type { Config, ServiceTimeouts } from '../config/env.js';

export const DEFAULT_STORAGE_TIMEOUT_MS = 5_000;

/**
 * Without these, LanceDB 0.31 waits up to 30 s for each HTTP request and retries it 3 times, its adaptive throttle
 * takes each failed retry for throttling (retrying all of it 3 times more and cutting its request rate to a few a
 * second), and it retries a listing 5 times more on top: a stopped server took 5 s to fail a search, a frozen one
 * would hold it for minutes. Here each HTTP request (a read of up to 16 MB or a part of an upload) gets the request
 * bound, a connection 2 s, one retry within that bound, and no throttle; a request's whole wait is bounded again by
 * the vector stores (requestTimeoutMs), since LanceDB retries a table's version listing several times itself.
 */
export function storageOptionsFor(config: Pick<Config, 'storageUri' | 's3'> & { timeouts?: Pick<ServiceTimeouts, 'storageMs'> }): Record<string, string> | undefined {
  if (!config.storageUri.startsWith('s3://')) return undefined;
  const { region, endpoint, accessKeyId, secretAccessKey, sessionToken } = config.s3;
  const timeoutMs = config.timeouts?.storageMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
  const options: Record<string, string> = {
    region,
    timeout: `${timeoutMs}ms`,
    connect_timeout: `${Math.min(timeoutMs, 2000)}ms`,
    client_max_retries: '1',
    // Whole seconds: no retry starts once the request's bound has passed.
    client_retry_timeout: String(Math.max(1, Math.ceil(timeoutMs / 1000))),
    lance_aimd_max_retries: '0',
  };
  if (endpoint) {
    options.endpoint = endpoint;
    if (endpoint.startsWith('http://')) options.allow_http = 'true';
  }
  if (accessKeyId) options.aws_access_key_id = accessKeyId;
  if (secretAccessKey) options.aws_secret_access_key = secretAccessKey;
  if (sessionToken) options.aws_session_token = sessionToken;
  return options;
}
