// Recognises database errors the API turns into codes (unique violations → CONFLICT).

/** True when Prisma reports a unique-constraint violation (P2002), on any adapter. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
