#!/usr/bin/env node
/**
 * The `twinslot` command. Every failure prints one line to stderr and exits non-zero:
 * 1 for an UpdateError (the line starts with its code), 2 for a usage mistake,
 * 10 when `commit` reverted a trial (restart the app). With --json a failure also
 * prints `{ "error": { "code", "message" } }` on stdout, so a script always gets a
 * JSON document. The exit codes are listed in cli/help.ts (EXIT_CODES_TEXT).
 *
 * @module
 */
import { UsageError } from './cli/args.js';
import { commandHelp, isCommand, mainHelp } from './cli/help.js';
import { createOutput } from './cli/output.js';
import { isUpdateError } from './errors.js';

// Commands load their modules on demand: `launch` runs at every start of the app and
// must not pay for the updater, the publisher or the HTTP client.
const publisher = () => import('./cli/publisher-commands.js');
const client = () => import('./cli/client-commands.js');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' && rest.length > 0) {
    if (!isCommand(rest[0]!)) throw new UsageError(`help: unknown command "${rest[0]}"; run "twinslot --help"`);
    process.stdout.write(commandHelp(rest[0]!) + '\n');
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write('twinslot 0.1.0\n');
    return 0;
  }
  // Arguments after `--` belong to someone else (`launch` passes them to the app).
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if ((own.includes('--help') || own.includes('-h')) && isCommand(command)) {
    process.stdout.write(commandHelp(command) + '\n');
    return 0;
  }
  switch (command) {
    case 'keygen':
      return (await publisher()).keygen(rest, createOutput);
    case 'release':
      return (await publisher()).release(rest, createOutput);
    case 'verify':
      return (await publisher()).verify(rest, createOutput);
    case 'rotate-keys':
      return (await publisher()).rotateKeysCommand(rest, createOutput);
    case 'rollout':
    case 'halt':
    case 'resume':
    case 'revoke':
    case 'critical':
      return (await publisher()).channelControl(command, rest, createOutput);
    case 'install':
      return (await client()).install(rest, createOutput);
    case 'update':
      return (await client()).update(rest, createOutput);
    case 'commit':
      return (await client()).commit(rest, createOutput);
    case 'rollback':
      return (await client()).rollback(rest, createOutput);
    case 'status':
      return (await client()).status(rest, createOutput);
    case 'launch':
      return (await import('./cli/launch-command.js')).launch(rest);
    default:
      throw new UsageError(`unknown command "${command}"; run "twinslot --help"`);
  }
}

const args = process.argv.slice(2);
main(args).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
    if (own.includes('--json')) {
      const code = err instanceof UsageError ? 'USAGE' : isUpdateError(err) ? err.code : 'ERROR';
      const message = err instanceof Error ? err.message : String(err);
      process.stdout.write(JSON.stringify({ error: { code, message } }, null, 2) + '\n');
    }
    if (err instanceof UsageError) {
      process.stderr.write(`twinslot: ${err.message}\n`);
      process.exitCode = 2;
    } else if (isUpdateError(err)) {
      process.stderr.write(`twinslot: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`twinslot: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
