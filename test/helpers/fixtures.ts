// Builds tenants and surfaces through the public API, as a client would.
import { CreateSurfaceDocument, IssueSurfaceTokenDocument, SignUpDocument, type MountInput, type SurfaceKind } from '../generated/graphql.js';
import { uniqueEmail, type TestNexus } from './nexus.js';

export interface TestTenant {
  ownerToken: string;
  tenantId: string;
  email: string;
}

export async function signUpTenant(nexus: TestNexus, domains?: string[]): Promise<TestTenant> {
  const email = uniqueEmail();
  const res = await nexus.gql(SignUpDocument, { input: { email, displayName: 'Test Person', domains } });
  if (!res.data?.signUp) throw new Error(`signUp failed: ${JSON.stringify(res.errors)}`);
  return { ownerToken: res.data.signUp.ownerToken, tenantId: res.data.signUp.tenant.id, email };
}

export interface TestSurface {
  key: string;
  token: string;
  tokenId: string;
}

export async function addSurface(
  nexus: TestNexus,
  ownerToken: string,
  spec: { key: string; homeDomain: string; mounts?: MountInput[]; kind?: SurfaceKind; expiresInSeconds?: number },
): Promise<TestSurface> {
  const created = await nexus.gql(
    CreateSurfaceDocument,
    { input: { key: spec.key, homeDomain: spec.homeDomain, mounts: spec.mounts, kind: spec.kind } },
    ownerToken,
  );
  if (!created.data?.createSurface) throw new Error(`createSurface failed: ${JSON.stringify(created.errors)}`);
  const issued = await nexus.gql(IssueSurfaceTokenDocument, { input: { surface: spec.key, expiresInSeconds: spec.expiresInSeconds } }, ownerToken);
  if (!issued.data?.issueSurfaceToken) throw new Error(`issueSurfaceToken failed: ${JSON.stringify(issued.errors)}`);
  return { key: spec.key, token: issued.data.issueSurfaceToken.token, tokenId: issued.data.issueSurfaceToken.id };
}
