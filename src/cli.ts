#!/usr/bin/env node
/**
 * The `twinslot` command. Every failure prints one line to stderr and exits non-zero:
 * 1 for an UpdateError (the line starts with its code), 2 for a usage mistake,
 * 10 when `commit` reverted a trial (restart the app).
 *
 * @module
 */
import { UsageError } from './cli/args.js';
import { createOutput } from './cli/output.js';
import { isUpdateError } from './errors.js';

// Commands load their modules on demand: `launch` runs at every start of the app and
// must not pay for the updater, the publisher or the HTTP client.
const publisher = () => import('./cli/publisher-commands.js');
const client = () => import('./cli/client-commands.js');

const HELP = `twinslot: signed, resumable, A/B self-updates that revert on failure

Publisher:
  twinslot keygen --out <dir>
  twinslot release <build-dir> --feed <dir> --app <id> --version <semver> --channel <name>
           --platform <os-arch> --entry <path> --key <file> [--key <file>]...
           [--expires 30d] [--probe "<command>"]... [--pre-probe "<command>"]...
           [--ring <name>=<percent>]... [--critical] [--chunk-size <bytes>] [--deltas-from <n>]
  twinslot rollout --feed <dir> --channel <name> --key <file> --ring <name>=<percent>...
           [--minimum-version <semver>|none]
  twinslot halt | resume --feed <dir> --channel <name> --key <file>
  twinslot revoke <version> --feed <dir> --channel <name> --key <file>
  twinslot verify --feed <dir> --pub <key> [--pub <key>]... [--threshold <k>]
  twinslot rotate-keys --feed <dir> --app <id> --key <current key file>... --new-key <file>... [--threshold <k>]

Client (device):
  twinslot install --feed <url> --root <dir> --app <id> --pub <key> --channel <name> [--ring <name>]
  twinslot update --root <dir>
  twinslot commit --root <dir>
  twinslot rollback --root <dir>
  twinslot status --root <dir>
  twinslot launch --root <dir> -- <args>

Add --json for machine-readable output. Exit codes: 0 ok, 1 error (the line names its code),
2 usage, 10 commit reverted the trial.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write('twinslot 0.1.0\n');
    return 0;
  }
  // Arguments after `--` belong to someone else (`launch` passes them to the app).
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    const lines = HELP.split('\n').filter((l) => l.includes(`twinslot ${command}`) || l.includes(`| ${command}`));
    process.stdout.write((lines.length ? lines.join('\n') : HELP) + '\n');
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
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
