// invite:create, invite:list, invite:revoke: the operator's side of sign-up by invitation (NEXUS_SIGNUP=invite).
// A code is printed once, by invite:create, and nowhere else: only its hash is stored, and nothing here logs.
import type { Command } from 'commander';
import {
  issueInvites,
  listInvites,
  MAX_INVITE_EXPIRY_SECONDS,
  MAX_INVITES_PER_ISSUE,
  revokeInvite,
  type InviteSummary,
} from '../tenancy/invites.js';
import type { CliContext } from './context.js';
import { table, when, wholeNumber } from './format.js';

function detail(invite: InviteSummary): string {
  switch (invite.state) {
    case 'used':
      return `used ${when(invite.usedAt!)} ${invite.usedByTenantId ? `by tenant ${invite.usedByTenantId}` : 'by a tenant since erased'}`;
    case 'revoked':
      return `revoked ${when(invite.revokedAt!)}`;
    case 'expired':
      return `expired ${when(invite.expiresAt!)}`;
    case 'valid':
      return invite.expiresAt ? `expires ${when(invite.expiresAt)}` : 'never expires';
  }
}

/** What --json prints of an invite: never a code (except the one invite:create hands over) or a hash. */
function asJson(invite: InviteSummary) {
  return {
    id: invite.id,
    state: invite.state,
    createdAt: invite.createdAt.toISOString(),
    expiresAt: invite.expiresAt?.toISOString() ?? null,
    revokedAt: invite.revokedAt?.toISOString() ?? null,
    usedAt: invite.usedAt?.toISOString() ?? null,
    usedByTenantId: invite.usedByTenantId,
  };
}

export function registerInviteCommands(program: Command, cli: CliContext): void {
  const { output } = cli;

  program
    .command('invite:create')
    .description('issue invite codes for sign-up by invitation; each code is printed now and never again')
    .option('--expires-in <seconds>', `seconds until the codes expire, 1 to ${MAX_INVITE_EXPIRY_SECONDS} (default: never)`, wholeNumber(1, MAX_INVITE_EXPIRY_SECONDS))
    .option('--count <n>', `how many codes to issue, 1 to ${MAX_INVITES_PER_ISSUE}`, wholeNumber(1, MAX_INVITES_PER_ISSUE), 1)
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { expiresIn?: number; count: number; json?: boolean }) => {
      const issued = await cli.withDatabase((db) => issueInvites(db.prisma, { count: options.count, expiresInSeconds: options.expiresIn }));
      if (options.json) {
        output.out(`${JSON.stringify(issued.map(({ invite, code }) => ({ ...asJson(invite), code })), null, 2)}\n`);
      } else {
        output.out(table(['ID', 'CODE', 'EXPIRES'], issued.map(({ invite, code }) => [invite.id, code, invite.expiresAt ? when(invite.expiresAt) : 'never'])));
      }
      const n = issued.length;
      output.err(`nexus: ${n} invite code${n === 1 ? '' : 's'} issued; shown only now (only a hash is kept), so hand ${n === 1 ? 'it' : 'them'} over now.\n`);
      const mode = cli.config().signUp;
      if (mode !== 'invite') output.err(`nexus: note: sign-up is ${mode} in this configuration; invite codes are asked for only where NEXUS_SIGNUP=invite.\n`);
    });

  program
    .command('invite:list')
    .description('list every invite, oldest first, with its state (valid, used, revoked or expired); never a code')
    .option('--json', 'print a JSON array instead of a table')
    .action(async (options: { json?: boolean }) => {
      const invites = await cli.withDatabase((db) => listInvites(db.prisma));
      if (options.json) {
        output.out(`${JSON.stringify(invites.map(asJson), null, 2)}\n`);
      } else if (invites.length === 0) {
        output.err('nexus: no invites yet (invite:create issues some)\n');
      } else {
        output.out(table(['ID', 'CREATED', 'STATE', 'DETAIL'], invites.map((i) => [i.id, when(i.createdAt), i.state, detail(i)])));
      }
    });

  program
    .command('invite:revoke')
    .description('revoke an unused invite by its id (from invite:list), so that no sign-up can use it')
    .argument('<id>', "the invite's id")
    .action(async (id: string) => {
      const { invite, alreadyRevoked } = await cli.withDatabase((db) => revokeInvite(db.prisma, id));
      output.out(alreadyRevoked ? `invite ${invite.id} was already revoked (${when(invite.revokedAt!)})\n` : `revoked invite ${invite.id}\n`);
    });
}
