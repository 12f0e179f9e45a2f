// The executable schema: every entity registers itself on import, Pothos builds
// it, and the shield wraps it. Printing it sorted gives schema/schema.graphql.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { builder } from './builder.js';
import './scalars.js';
import './types/viewer.js';
import './types/tenant.js';
import './types/domain.js';
import './types/surface.js';
import './types/wallet.js';
import './types/record.js';
import './types/event.js';
import { permissions } from './permissions.js';

/** The schema as Pothos builds it, before authorisation. */
export const baseSchema: GraphQLSchema = builder.toSchema();

/** What the server executes: the base schema wrapped by graphql-shield. */
export function createSchema(): GraphQLSchema {
  return applyMiddleware(baseSchema, permissions);
}

export function printSortedSchema(schema: GraphQLSchema = baseSchema): string {
  return `${printSchema(lexicographicSortSchema(schema)).trim()}\n`;
}
