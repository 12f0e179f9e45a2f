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

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseDate(value: unknown): Date {
  if (typeof value === 'string' && ISO_DATE.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw badInput('DateTime must be an ISO-8601 string such as 2026-11-26T08:00:00Z');
}

builder.scalarType('DateTime', {
  description:
    'An ISO-8601 date or date-time string, e.g. "2026-11-26T08:00:00Z" (BAD_USER_INPUT otherwise). A date alone means midnight UTC; give a date-time a Z or an offset, or it is read in the server\'s time zone. Always UTC on output, with milliseconds.',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

function literalToJson(ast: ValueNode): unknown {
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
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw badInput('JSON literals cannot contain variables');
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value (object, array, string, number, boolean or null). Written inline in a query it may not contain variables (BAD_USER_INPUT): pass it as a variable instead.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});
