// The operator's CLI (`npm run nexus -- <command>`): commander, one register function per command group.
// To add a group (tenant:*, migrate, usage, …): write src/cli/<group>.ts exporting
// `register…Commands(program, cli)` and list it in COMMAND_GROUPS; context.ts gives it the configuration, the
// database and the one way failures are reported.
import { Command, CommanderError } from 'commander';
import { NEXUS_VERSION } from '../config/env.js';
import { createCliContext, describeFailure, EXIT, type CliContext, type CliOutput } from './context.js';
import { registerIndexCommands } from './indexes.js';
import { registerInviteCommands } from './invites.js';
import { registerTenantCommands } from './tenants.js';
import { registerTransferCommands } from './transfer.js';

export type CommandGroup = (program: Command, cli: CliContext) => void;

export const COMMAND_GROUPS: readonly CommandGroup[] = [registerInviteCommands, registerIndexCommands, registerTenantCommands, registerTransferCommands];

const FOOTER = `
Configuration comes from the environment, as for the gateway: DATABASE_URL
(PostgreSQL), or else the embedded database in NEXUS_DATA_DIR (default ./.nexus),
which only one process at a time may open: stop a gateway running on it first.
Pending migrations are applied when the database is opened.

Exit status: 0 done, 1 the command failed, 2 bad usage or configuration.

Examples:
  npm run nexus -- invite:create --count 3 --expires-in 604800
  npm run nexus -- invite:list
  npm run nexus -- invite:revoke 5f0c3e8e-1d2b-4c55-9a43-0b7f8a1c2d3e
  npm run nexus -- index:status t5x2k9
  npm run nexus -- index:rebuild t5x2k9 health
  npm run nexus -- migrate
  npm run nexus -- tenant:list --by-bytes
  npm run nexus -- usage t5x2k9
  npm run nexus -- tenant:erase t5x2k9
  npm run nexus -- tenant:export t5x2k9 person.jsonl
  npm run nexus -- tenant:import person.jsonl --email new@example.com`;

/** commander's own messages ("error: unknown command 'x'\\n(Did you mean …?)") in the CLI's one-line form. */
function commanderLine(text: string): string {
  return `nexus: ${text.replace(/^error: /, '').replace(/\s+/g, ' ').trim()}\n`;
}

export function createProgram(cli: CliContext): Command {
  const program = new Command('nexus')
    .description("Operate a Nexus deployment, on the gateway's own configuration and database.")
    .version(NEXUS_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', FOOTER)
    .showSuggestionAfterError()
    // Before any .command(): subcommands inherit these.
    .configureOutput({
      writeOut: (text) => cli.output.out(text),
      writeErr: (text) => cli.output.err(text),
      outputError: (text, write) => write(commanderLine(text)),
    })
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program, cli);
  return program;
}

/** Runs one command line (argv without node and the script) and answers its exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; output?: CliOutput } = {},
): Promise<number> {
  const cli = createCliContext(options.env, options.output);
  try {
    await createProgram(cli).parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for: done. Anything else commander has already printed as one line.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    const { message, exitCode } = describeFailure(error);
    cli.output.err(`nexus: ${message}\n`);
    return exitCode;
  }
}
