// Pothos builder: configuration only (context type, scalars, backing models).
// Entities register themselves in graphql/types/<entity>.ts.
import SchemaBuilder from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type { NexusContext } from './context.js';
import type { Domain, Identity, LedgerEntry, Surface, Tenant, Wallet } from '../generated/prisma/client.js';
import type { StoredRecord } from '../vectors/store.js';
import type { NexusEventPayload } from '../events/nexus-events.js';

export interface MountShape {
  surfaceId: string;
  domainId: string;
  access: 'READ' | 'READ_WRITE';
}

export interface HitShape {
  record: StoredRecord;
  distance: number;
  score: number;
}

export const builder = new SchemaBuilder<{
  Context: NexusContext;
  DefaultFieldNullability: false;
  Scalars: {
    BigInt: { Input: bigint; Output: bigint };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  Objects: {
    Tenant: Tenant;
    Identity: Identity;
    Wallet: Wallet;
    LedgerEntry: LedgerEntry;
    Domain: Domain;
    Surface: Surface;
    Mount: MountShape;
    Record: StoredRecord;
    Hit: HitShape;
    NexusEvent: NexusEventPayload;
  };
}>({ defaultFieldNullability: false });

const BIGINT = /^-?\d{1,30}$/;

function parseBigInt(value: unknown): bigint {
  if (typeof value === 'string' && BIGINT.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new GraphQLError('BigInt must be a whole number written as a decimal string', { extensions: { code: 'BAD_USER_INPUT' } });
}

builder.scalarType('BigInt', {
  description: 'A whole number of any size, as a decimal string on the wire.',
  serialize: (value) => value.toString(),
  parseValue: parseBigInt,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return parseBigInt(ast.kind === Kind.INT ? ast.value : ast.value);
    throw new GraphQLError('BigInt must be a whole number written as a decimal string', { extensions: { code: 'BAD_USER_INPUT' } });
  },
});

function parseDate(value: unknown): Date {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new GraphQLError('DateTime must be an ISO-8601 string such as 2026-11-26T08:00:00Z', { extensions: { code: 'BAD_USER_INPUT' } });
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time string (UTC on output).',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined),
});

function literalToJson(ast: import('graphql').ValueNode): unknown {
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
      throw new GraphQLError('JSON literals cannot contain variables', { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
