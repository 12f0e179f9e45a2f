// The custom scalars: BigInt (decimal strings), DateTime (ISO-8601) and JSON. A value that does not
// parse is BAD_USER_INPUT, whether it came as a variable or as a literal.
import { Kind, type ValueNode } from 'graphql';
import { builder } from './builder.js';
import { badInput } from './errors.js';

const BIGINT = /^-?\d{1,30}$/;
const BIGINT_MESSAGE = 'BigInt must be a whole number written as a decimal string';

function parseBigInt(value: unknown): bigint {
  if (typeof value === 'string' && BIGINT.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw badInput(BIGINT_MESSAGE);
}

builder.scalarType('BigInt', {
  description:
    'A whole number written as a decimal string on the wire, e.g. "1500": up to 30 digits, optionally negative (an integer literal, or a JSON number up to 2^53 − 1, is also accepted; anything else is BAD_USER_INPUT). Always a string on output. Credit amounts and balances use it.',
  serialize: (value) => value.toString(),
  parseValue: parseBigInt,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return parseBigInt(ast.value);
    throw badInput(BIGINT_MESSAGE);
  },
});

// A calendar date, optionally with a time and then a zone: 2026-11-26, or 2026-11-26T08:00:00.5+01:00.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2})))?$/;
const DATE_MESSAGE = 'DateTime must be a real ISO-8601 date such as 2026-11-26, or a date-time with its zone such as 2026-11-26T08:00:00Z';

function parseDate(value: unknown): Date {
  const m = typeof value === 'string' ? ISO_DATE.exec(value) : null;
  if (!m) throw badInput(DATE_MESSAGE);
  const n = (i: number) => Number(m[i] ?? 0);
  const [year, month, day] = [n(1), n(2), n(3)];
  // Date would roll 2024-02-30 over to March 1st: check each part against the calendar instead.
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  const valid = day >= 1 && day <= daysInMonth && n(4) <= 23 && n(5) <= 59 && n(6) <= 59 && n(8) <= 14 && n(9) <= 59;
  if (!valid) throw badInput(DATE_MESSAGE);
  // A date alone is midnight UTC; a time always names its zone, so the answer never depends on the server's.
  const date = new Date(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : (value as string));
  if (Number.isNaN(date.getTime())) throw badInput(DATE_MESSAGE);
  return date;
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 date or date-time string, e.g. "2026-11-26T08:00:00Z". A date alone means midnight UTC; a date-time must name its zone (Z or an offset such as +01:00). BAD_USER_INPUT for anything else, including dates that do not exist (2024-02-30). Always UTC on output, with milliseconds.',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

/** Literal JSON nests at most this deep (the parser's own recursion, not just the stored size, is at stake). */
const MAX_JSON_LITERAL_DEPTH = 64;

function literalToJson(ast: ValueNode, depth = 0): unknown {
  if (depth > MAX_JSON_LITERAL_DEPTH) throw badInput(`JSON literals nest at most ${MAX_JSON_LITERAL_DEPTH} levels deep`);
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, depth + 1));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, depth + 1)]));
    default:
      throw badInput('JSON literals cannot contain variables');
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value (object, array, string, number, boolean or null). Written inline in a query it may not contain variables (BAD_USER_INPUT): pass it as a variable instead.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => literalToJson(ast),
});
