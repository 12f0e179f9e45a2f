// Bearer tokens: 256 random bits, shown once, stored only as a SHA-256 hash.
// The prefix tells a reader what kind of token leaked, never whose.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenKind = 'owner' | 'surface';

const PREFIX: Record<TokenKind, string> = { owner: 'nxo_', surface: 'nxs_' };
const SHAPE = /^nx[os]_[A-Za-z0-9_-]{43}$/;

export interface NewToken {
  /** The secret, to be shown to the caller once. */
  readonly token: string;
  /** What is stored. */
  readonly hash: string;
}

export function newToken(kind: TokenKind): NewToken {
  const token = PREFIX[kind] + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check so garbage never reaches the database. */
export function looksLikeToken(token: string): boolean {
  return SHAPE.test(token);
}

/** Extracts the token from an `Authorization: Bearer …` header; undefined when absent, null when malformed. */
export function bearerToken(header: string | null | undefined): string | undefined | null {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
