// Pothos builder: configuration only (context type, scalars, backing models).
// Entities register themselves in graphql/types/<entity>.ts.
import SchemaBuilder from '@pothos/core';
import type { NexusContext } from './context.js';
import type { Domain, Identity, LedgerEntry, Surface, Tenant, Wallet } from '../generated/prisma/client.js';
import type { StoredRecord } from '../vectors/store.js';
import type { NexusEventShape } from '../events/nexus-events.js';

export interface MountShape {
  surfaceId: string;
  domainId: string;
  access: 'READ' | 'READ_WRITE';
}

export interface HitShape {
  record: StoredRecord;
  /** Null for a hit ranked by text alone. */
  distance: number | null;
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
    NexusEvent: NexusEventShape;
  };
}>({ defaultFieldNullability: false });

builder.queryType({
  description:
    'Reads. Every field needs a bearer token except serverInfo; an invalid token is UNAUTHENTICATED on every operation. An operation nests at most 12 deep and has at most 20 aliases.',
});
builder.mutationType({ description: 'Writes. Every field needs a bearer token except signUp; a rejected write writes nothing.' });
builder.subscriptionType({ description: 'Live events over Server-Sent Events: POST /graphql with Accept: text/event-stream and a bearer token.' });

/** The field builder an input type's `fields` receives, for field sets that several inputs share. */
export type InputFields = Parameters<NonNullable<Parameters<typeof builder.inputType>[1]['fields']>>[0];
