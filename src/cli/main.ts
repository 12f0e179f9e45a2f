// Entry of the operator's CLI: `npm run nexus -- <command>` (see program.ts; `--help` lists the commands).
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
