// When the bucket is down or hangs: recognises the errors LanceDB and the AWS SDK raise for an unreachable or
// unanswering object store, and bounds how long a request waits for storage (NEXUS_STORAGE_TIMEOUT_MS).
import { ServiceUnavailableError } from '../errors.js';

// LanceDB (object_store under it) says where it failed and, at the end of its "Caused by" chain, why.
const LANCE = /lance error|LanceError|Generic S3 error|object_store|Error performing (?:GET|PUT|POST|DELETE|HEAD|list)/i;
const NETWORK =
  /error sending request|operation timed out|tcp connect error|error trying to connect|connection (?:refused|reset|closed|aborted)|broken pipe|dns error|failed to lookup address|timed out|request timeout|status code:? 5\d\d|\b5\d\d (?:Service Unavailable|Internal Server Error|Bad Gateway|Gateway Timeout|Slow Down)/i;
// The AWS SDK: a socket error's code, its own timeout errors, or an answer of 5xx.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const SDK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'SlowDown', 'InternalError', 'ThrottlingException']);

/** True for an error saying the object store (S3 or an S3-compatible server) is unreachable or did not answer in time. */
export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { message, name, code } = error as { message?: unknown; name?: unknown; code?: unknown };
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  if (metadata !== undefined) {
    // An error the AWS SDK raised (it always says how many attempts it made).
    if (typeof metadata.httpStatusCode === 'number' && metadata.httpStatusCode >= 500) return true;
    if (typeof name === 'string' && SDK_NAMES.has(name)) return true;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
    return typeof message === 'string' && /socket hang up|timed out/i.test(message);
  }
  return typeof message === 'string' && LANCE.test(message) && NETWORK.test(message);
}

export type StorageDeadline = <T>(work: Promise<T>, late?: (value: T) => void) => Promise<T>;

/**
 * Bounds a request's wait for storage to ms (none when undefined): past it the wait ends with SERVICE_UNAVAILABLE
 * (storage), though the work itself, which LanceDB cannot cancel, goes on until its own timeouts end it; `late` is
 * given what it makes if it succeeds after all (a table handle to close, say).
 */
export function createStorageDeadline(ms: number | undefined): StorageDeadline {
  if (ms === undefined) return (work) => work;
  return <T>(work: Promise<T>, late?: (value: T) => void) =>
    new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new ServiceUnavailableError('storage'));
      }, ms);
      work.then(
        (value) => {
          clearTimeout(timer);
          if (timedOut) late?.(value);
          else resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!timedOut) reject(error);
        },
      );
    });
}
