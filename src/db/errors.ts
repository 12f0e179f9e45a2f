// Recognises database errors the API turns into codes (unique violations → CONFLICT).

/**
 * True for a unique-constraint violation on any adapter: Prisma's P2002 from model queries, or the raw
 * database error (SQLSTATE 23505) that $queryRaw passes through.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002') return true;
  const text = error instanceof Error ? `${error.message} ${JSON.stringify(error)}` : String(error);
  return text.includes('23505') || /unique constraint/i.test(text);
}
