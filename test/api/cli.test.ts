// The operator's CLI as an operator runs it (`node --import tsx src/cli/main.ts …`, what `npm run nexus --` runs),
// against a temporary PGlite data directory and a fresh PostgreSQL database: invite codes it prints work for signUp
// on a gateway started afterwards on the same data, list never prints a code, revoke makes one fail, and every
// failure is one line with a non-zero exit.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SIGN_UP_REFUSED } from '../../src/tenancy/sign-up.js';
import { codes, createTestDatabase, postgresAvailable, startNexus, uniqueEmail, type Backend, type TestNexus } from '../helpers/nexus.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CODE = /nxi_[A-Za-z0-9_-]{43}/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const BACKENDS: Backend[] = (await postgresAvailable()) ? ['pglite', 'postgresql'] : ['pglite'];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the environment given (and PATH, HOME), as an operator's shell would. */
function nexusCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/** A failure as the CLI must report it: a non-zero exit, nothing on stdout, one line on stderr. */
function expectOneLineFailure(run: Run, status: number, pattern: RegExp): void {
  expect(run.status).toBe(status);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^nexus: /);
  expect(lines[0]).toMatch(pattern);
}

const SIGN_UP = 'mutation($input: SignUpInput!) { signUp(input: $input) { tenant { id } } }';

describe('nexus CLI', () => {
  const env = () => ({ NEXUS_DATA_DIR: path.join(tmpdir(), 'nexus-cli-unused') });

  it('--help lists the commands and exits 0', async () => {
    const run = await nexusCli(['--help'], env());
    expect(run.status).toBe(0);
    for (const command of ['invite:create', 'invite:list', 'invite:revoke <id>', 'help [command]']) expect(run.stdout).toContain(command);
    expect(run.stdout).toContain('--help');
    const sub = await nexusCli(['invite:create', '--help'], env());
    expect(sub.status).toBe(0);
    expect(sub.stdout).toContain('--expires-in <seconds>');
    expect(sub.stdout).toContain('--count <n>');
  });

  it.each([
    [['invite:lst'], /unknown command 'invite:lst' \(Did you mean invite:list\?\)$/],
    [['invite:create', '--count', 'many'], /--count <n>.*'many' is invalid\. it must be a whole number from 1 to 1000\.$/],
    [['invite:create', '--bogus'], /unknown option '--bogus'/],
    [['invite:revoke'], /missing required argument 'id'/],
  ])('rejects %j with one line and exit 2', async (args, pattern) => {
    expectOneLineFailure(await nexusCli(args, env()), 2, pattern);
  });

  it('shows help on stderr and exits 2 when no command is given', async () => {
    const run = await nexusCli([], env());
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('invite:create');
  });

  it.each([
    ['--count', '0'],
    ['--count', '1001'],
    ['--expires-in', '0'],
    ['--expires-in', '1e6'],
  ])('rejects invite:create %s %s with one line and exit 2, before opening any database', async (option, value) => {
    // Nothing listens there: a CLI that opened the database would fail with exit 1 instead.
    const run = await nexusCli(['invite:create', option, value], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' });
    expectOneLineFailure(run, 2, new RegExp(`${option} .* is invalid\\. it must be a whole number from 1 to \\d+\\.$`));
  });

  it('stops on a bad configuration with one line naming it', async () => {
    expectOneLineFailure(await nexusCli(['invite:list'], { DATABASE_URL: 'mysql://nope' }), 2, /invalid configuration: DATABASE_URL /);
  });
});

describe.each(BACKENDS)('nexus CLI on %s', (backend) => {
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'nexus-cli-'));
    cliEnv = { NEXUS_DATA_DIR: dataDir, NEXUS_SIGNUP: 'invite' };
    if (backend === 'postgresql') {
      database = await createTestDatabase('nexus_cli');
      cliEnv.DATABASE_URL = database.url;
    }
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  /** A gateway on the CLI's own data (startNexus's own fresh directory and database are overridden). */
  const gateway = (): Promise<TestNexus> => startNexus({ backend: 'pglite', env: { ...cliEnv } });

  it('creates codes that work once for signUp on a gateway started afterwards; list never shows one; revoke makes one fail', async () => {
    // Create: the codes and their ids, each once.
    const created = await nexusCli(['invite:create', '--count', '3'], cliEnv);
    expect(created.status).toBe(0);
    const issued = created.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => ({ id: UUID.exec(line)?.[0], code: line.match(CODE)?.[0] }));
    expect(issued).toHaveLength(3);
    for (const i of issued) {
      expect(i.id).toMatch(UUID);
      expect(i.code).toMatch(CODE);
    }
    expect(new Set(issued.map((i) => i.code)).size).toBe(3);
    expect(created.stderr).toMatch(/3 invite codes issued/);
    expect(created.stderr).not.toMatch(CODE);
    const [useMe, revokeMe, keepMe] = issued as { id: string; code: string }[];

    const timed = await nexusCli(['invite:create', '--expires-in', '3600', '--json'], cliEnv);
    expect(timed.status).toBe(0);
    const [json] = JSON.parse(timed.stdout) as { id: string; code: string; expiresAt: string; state: string }[];
    expect(json).toMatchObject({ id: expect.stringMatching(UUID), code: expect.stringMatching(CODE), state: 'valid' });
    expect(Date.parse(json!.expiresAt) - Date.now()).toBeGreaterThan(3500_000);

    // Revoke one.
    const revoked = await nexusCli(['invite:revoke', revokeMe!.id], cliEnv);
    expect(revoked).toMatchObject({ status: 0, stdout: `revoked invite ${revokeMe!.id}\n` });

    // List: ids and states, never a code.
    const listed = await nexusCli(['invite:list'], cliEnv);
    expect(listed.status).toBe(0);
    expect(listed.stdout + listed.stderr).not.toMatch(CODE);
    expect(listed.stdout).toMatch(new RegExp(`${useMe!.id}\\s+\\S+\\s+valid\\s+never expires`));
    expect(listed.stdout).toMatch(new RegExp(`${revokeMe!.id}\\s+\\S+\\s+revoked\\s+revoked `));
    expect(listed.stdout).toMatch(new RegExp(`${json!.id}\\s+\\S+\\s+valid\\s+expires `));

    // A gateway on the same data: the code works once, the revoked one never.
    const nexus = await gateway();
    let tenantId: string;
    try {
      const ok = await nexus.gql(SIGN_UP, { input: { email: uniqueEmail('cli'), inviteCode: useMe!.code } });
      expect(ok.errors).toBeUndefined();
      tenantId = ok.data!.signUp.tenant.id;
      const again = await nexus.gql(SIGN_UP, { input: { email: uniqueEmail('cli'), inviteCode: useMe!.code } });
      expect(codes(again)).toEqual(['FORBIDDEN']);
      const withRevoked = await nexus.gql(SIGN_UP, { input: { email: uniqueEmail('cli'), inviteCode: revokeMe!.code } });
      expect(codes(withRevoked)).toEqual(['FORBIDDEN']);
      expect(withRevoked.errors?.[0]?.message).toBe(SIGN_UP_REFUSED);

      if (backend === 'pglite') {
        // The gateway holds the embedded database: the CLI is refused, in one line, and changes nothing.
        const locked = await nexusCli(['invite:revoke', keepMe!.id], cliEnv);
        expectOneLineFailure(locked, 1, new RegExp(`in use by process ${process.pid}: .*stop that gateway first`));
      } else {
        // On PostgreSQL the CLI and a running gateway share the database.
        const live = await nexusCli(['invite:revoke', keepMe!.id], cliEnv);
        expect(live.status).toBe(0);
        const refused = await nexus.gql(SIGN_UP, { input: { email: uniqueEmail('cli'), inviteCode: keepMe!.code } });
        expect(codes(refused)).toEqual(['FORBIDDEN']);
      }
    } finally {
      await nexus.close();
    }

    const after = await nexusCli(['invite:list'], cliEnv);
    expect(after.status).toBe(0);
    expect(after.stdout).not.toMatch(CODE);
    expect(after.stdout).toMatch(new RegExp(`${useMe!.id}\\s+\\S+\\s+used\\s+used \\S+ by tenant ${tenantId!}`));
    expect(after.stdout).toMatch(new RegExp(`${keepMe!.id}\\s+\\S+\\s+${backend === 'pglite' ? 'valid' : 'revoked'}`));
  }, 240_000);

  it.each([
    ['an id that is no uuid', 'not-an-id'],
    ['an unknown id', '00000000-0000-4000-8000-000000000000'],
  ])('invite:revoke with %s exits 1 with one line', async (_label, id) => {
    expectOneLineFailure(await nexusCli(['invite:revoke', id], cliEnv), 1, new RegExp(`^nexus: invite "${id}" not found$`));
  }, 120_000);

  it('refuses to revoke a used invite, and a code given for an id without echoing it', async () => {
    const created = await nexusCli(['invite:create', '--json'], cliEnv);
    const [invite] = JSON.parse(created.stdout) as { id: string; code: string }[];
    const mistaken = await nexusCli(['invite:revoke', invite!.code], cliEnv);
    expectOneLineFailure(mistaken, 2, /invite code, not an invite's id/);
    expect(mistaken.stderr).not.toContain(invite!.code.slice(4));
    const nexus = await gateway();
    try {
      expect((await nexus.gql(SIGN_UP, { input: { email: uniqueEmail('cli'), inviteCode: invite!.code } })).errors).toBeUndefined();
    } finally {
      await nexus.close();
    }
    expectOneLineFailure(await nexusCli(['invite:revoke', invite!.id], cliEnv), 1, /already used/);
    // invite:list --json shows it used, and never a code.
    const listed = await nexusCli(['invite:list', '--json'], cliEnv);
    expect(listed.stdout).not.toMatch(CODE);
    expect((JSON.parse(listed.stdout) as { id: string; state: string }[]).find((i) => i.id === invite!.id)?.state).toBe('used');
  }, 180_000);

});
