// Pothos builder: configuration only (context type, scalars, backing models).
// Entities register themselves in graphql/types/<entity>.ts.
import SchemaBuilder from '@pothos/core';
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

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
