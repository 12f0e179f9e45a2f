// Validation of every identifier that can reach a storage path or a filter:
// domain and surface keys, tenant ids, emails. Rejections are BAD_USER_INPUT.
import { randomBytes } from 'node:crypto';
import { BadUserInputError } from '../errors.js';
import { identifierProblem, textProblem } from '../text.js';
import { KEY_PATTERN } from '../vectors/layout.js';

export { KEY_PATTERN };

export function isKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** Returns the key unchanged, or throws BAD_USER_INPUT naming the field. */
export function assertKey(value: string, field: string): string {
  if (!isKey(value)) {
    throw new BadUserInputError(`${field} must match ${KEY_PATTERN.source} (lowercase letter first, then up to 31 of a-z, 0-9, -)`, field);
  }
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Row ids the server generates; anything else cannot name a row, so it never reaches a query. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh tenant id: 't' + 24 random base-36 characters, itself a valid key. */
export function newTenantId(): string {
  const bytes = randomBytes(24);
  let id = 't';
  for (const b of bytes) id += ID_ALPHABET[b % 36];
  return id;
}

// Deliberately simple: one @, no spaces, a dot in the domain part, ≤ 254 chars.
const EMAIL = /^[^\s@"<>()[\]\\,;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function normaliseEmail(value: string): string {
  const email = value.trim().toLowerCase();
  // One message for every way an address can be wrong: a NUL, an escape or a look-alike is simply not an address.
  if (email.length > 254 || identifierProblem(email) !== null || !EMAIL.test(email)) throw new BadUserInputError('email is not a valid address', 'email');
  return email;
}

/** Free text that is shown, never used as an identifier: trimmed, bounded, printable (src/text.ts). */
export function cleanName(value: string, field: string, max = 100): string {
  const name = value.trim();
  if (name.length === 0 || name.length > max || textProblem(name) !== null) {
    throw new BadUserInputError(`${field} must be 1 to ${max} printable characters`, field);
  }
  return name;
}
