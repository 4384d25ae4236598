/**
 * The CLI's help: one entry per command (usage, what it does, options, an example),
 * from which both `twinslot --help` and `twinslot <command> --help` are printed, so
 * the two cannot drift apart.
 *
 * @module
 */

interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly (readonly [flag: string, text: string])[];
  readonly example: string;
  readonly side: 'publisher' | 'client';
}

const FEED_DIR = ['--feed <dir>', 'the feed folder (the static files a web server serves)'] as const;
const CHANNEL = ['--channel <name>', 'the channel, e.g. stable'] as const;
const KEY = ['--key <file>', 'a private key file from keygen; repeat for k-of-n signing'] as const;
const EXPIRES = ['--expires <duration>', 'how long the channel document stays valid, e.g. 30d (default 30d)'] as const;
const ROOT = ['--root <dir>', 'the install root (slots/, state, trust.json)'] as const;
const CHANNEL_CONTROL = [FEED_DIR, CHANNEL, KEY, EXPIRES] as const;

const COMMANDS: Readonly<Record<string, CommandHelp>> = {
  keygen: {
    side: 'publisher',
    usage: 'twinslot keygen --out <dir>',
    summary: 'Writes a new ed25519 signing key to <dir>/twinslot.key (mode 0600; never overwrites) and prints its public key.',
    options: [['--out <dir>', 'where to write twinslot.key']],
    example: 'twinslot keygen --out keys/',
  },
  release: {
    side: 'publisher',
    usage:
      'twinslot release <build-dir> --feed <dir> --app <id> --version <semver> --channel <name>\n' +
      '         --platform <os-arch> --entry <path> --key <file> [--key <file>]...\n' +
      '         [--expires 30d] [--probe "<command>"]... [--pre-probe "<command>"]...\n' +
      '         [--ring <name>=<percent>]... [--critical] [--chunk-size <bytes>] [--deltas-from <n>]',
    summary: 'Packs, hashes and signs a build folder into the feed and points the channel at it.',
    options: [
      FEED_DIR,
      ['--app <id>', 'the app id, e.g. com.example.app'],
      ['--version <semver>', 'the version being published (never republished)'],
      CHANNEL,
      ['--platform <os-arch>', 'e.g. linux-x64, darwin-arm64, win32-x64'],
      ['--entry <path>', 'the executable inside the build folder the launcher starts'],
      KEY,
      EXPIRES,
      ['--probe "<command>"', 'a post-start health probe run in the new slot (repeatable)'],
      ['--pre-probe "<command>"', 'a probe run against the staged slot before the switch (repeatable)'],
      ['--probe-timeout <ms>', 'time limit of each probe (default 30000)'],
      ['--ring <name>=<percent>', 'rollout percentage of a ring, * for everyone else (repeatable)'],
      ['--critical', 'mark the release critical: clients skip their consent hooks'],
      ['--chunk-size <bytes>', 'verified download chunk size (default 1 MiB)'],
      ['--deltas-from <n>', 'make binary patches from each of the last n releases'],
    ],
    example: 'twinslot release build/ --feed feed/ --app com.example.app --version 2.0.0 --channel stable --platform linux-x64 --entry bin/app --key keys/twinslot.key --probe "bin/app --self-test"',
  },
  rollout: {
    side: 'publisher',
    usage: 'twinslot rollout --feed <dir> --channel <name> --key <file> --ring <name>=<percent>... [--minimum-version <semver>|none]',
    summary: "Changes the channel's rollout percentages (or its minimum version) and re-signs it with a higher sequence.",
    options: [...CHANNEL_CONTROL, ['--ring <name>=<percent>', 'a ring and its percentage, * for everyone else (repeatable)'], ['--minimum-version <semver>|none', 'installs older than this take the full update, not a delta']],
    example: "twinslot rollout --feed feed/ --channel stable --key keys/twinslot.key --ring canary=100 --ring '*=25'",
  },
  halt: {
    side: 'publisher',
    usage: 'twinslot halt --feed <dir> --channel <name> --key <file>',
    summary: 'Stops the rollout of the channel: no client starts (or continues) downloading its release.',
    options: CHANNEL_CONTROL,
    example: 'twinslot halt --feed feed/ --channel stable --key keys/twinslot.key',
  },
  resume: {
    side: 'publisher',
    usage: 'twinslot resume --feed <dir> --channel <name> --key <file>',
    summary: 'Resumes a halted rollout.',
    options: CHANNEL_CONTROL,
    example: 'twinslot resume --feed feed/ --channel stable --key keys/twinslot.key',
  },
  revoke: {
    side: 'publisher',
    usage: 'twinslot revoke <version> --feed <dir> --channel <name> --key <file>',
    summary: 'Revokes a version: clients never install it, and clients running it go back to their previous slot.',
    options: CHANNEL_CONTROL,
    example: 'twinslot revoke 2.0.0 --feed feed/ --channel stable --key keys/twinslot.key',
  },
  critical: {
    side: 'publisher',
    usage: 'twinslot critical --feed <dir> --channel <name> --key <file> [--off]',
    summary: "Marks the channel's release critical (clients skip their consent hooks), or clears the mark with --off.",
    options: [...CHANNEL_CONTROL, ['--off', 'clear the critical mark']],
    example: 'twinslot critical --feed feed/ --channel stable --key keys/twinslot.key',
  },
  verify: {
    side: 'publisher',
    usage: 'twinslot verify --feed <dir> --pub <key> [--pub <key>]... [--threshold <k>]',
    summary: 'Checks every signature, expiry and pinned hash of a feed, and hashes every blob chunk by chunk.',
    options: [FEED_DIR, ['--pub <key>', 'a trusted public key, ed25519:<base64> (repeatable)'], ['--threshold <k>', 'how many distinct keys must sign (default 1)']],
    example: 'twinslot verify --feed feed/ --pub ed25519:tGGcGfWBBGzFkc/+cxTLIXYMbtz53os4kcIHLdlj33o=',
  },
  'rotate-keys': {
    side: 'publisher',
    usage: 'twinslot rotate-keys --feed <dir> --app <id> --key <current key file>... --new-key <file>... [--threshold <k>]',
    summary: 'Publishes a new root key document signed by the current keys, so clients move to the new keys.',
    options: [FEED_DIR, ['--app <id>', 'the app id'], ['--key <file>', 'a current private key file (repeatable)'], ['--new-key <file>', 'a new private key file (repeatable)'], ['--threshold <k>', 'signatures the new keys must provide (default 1)']],
    example: 'twinslot rotate-keys --feed feed/ --app com.example.app --key keys/old.key --new-key keys2/twinslot.key',
  },
  install: {
    side: 'client',
    usage: 'twinslot install --feed <url> --root <dir> --app <id> --pub <key> --channel <name> [--ring <name>]',
    summary: 'First install on a device: writes <root>/twinslot.json and installs the channel\'s release into slot a.',
    options: [
      ['--feed <url>', 'the feed base URL'],
      ROOT,
      ['--app <id>', 'the app id'],
      ['--pub <key>', 'a trusted public key (repeatable)'],
      ['--threshold <k>', 'how many distinct keys must sign (default 1)'],
      CHANNEL,
      ['--ring <name>', 'this device\'s rollout ring'],
      ['--platform <os-arch>', 'default: this machine\'s'],
      ['--max-attempts <n>', 'trial starts before the launcher reverts (default 3)'],
    ],
    example: 'twinslot install --feed https://updates.example.com/app/ --root /opt/app --app com.example.app --pub ed25519:... --channel stable',
  },
  update: {
    side: 'client',
    usage: 'twinslot update --root <dir>',
    summary: 'Checks, downloads into the inactive slot, re-checks, runs pre-switch probes and switches on trial.',
    options: [ROOT],
    example: 'twinslot update --root /opt/app',
  },
  commit: {
    side: 'client',
    usage: 'twinslot commit --root <dir>',
    summary: 'After a restart: runs the post-start probes and commits the trial, or reverts it (exit 10).',
    options: [ROOT],
    example: 'twinslot commit --root /opt/app; [ $? -eq 10 ] && systemctl restart app',
  },
  rollback: {
    side: 'client',
    usage: 'twinslot rollback --root <dir>',
    summary: 'Goes back to the previous slot and marks the current release bad.',
    options: [ROOT],
    example: 'twinslot rollback --root /opt/app',
  },
  status: {
    side: 'client',
    usage: 'twinslot status --root <dir>',
    summary: 'Prints the slot journal as JSON (always; --json is accepted).',
    options: [ROOT],
    example: 'twinslot status --root /opt/app',
  },
  launch: {
    side: 'client',
    usage: 'twinslot launch --root <dir> -- <args>',
    summary: "Starts the active slot's entry with <args>, counting trial starts; reverts first past max-attempts. Exits with the app's exit code.",
    options: [ROOT],
    example: 'twinslot launch --root /opt/app -- --port 8080',
  },
};

/** Exit codes, as `twinslot --help` and the README state them. */
export const EXIT_CODES_TEXT = `Exit codes:
  0    success
  1    an error: stderr has one line "twinslot: <CODE>: <message>" (verify: the feed has problems)
  2    a usage mistake: unknown command or option, missing argument
  10   commit reverted the trial to the previous slot: restart the app
  launch exits with the app's own code (128 + the signal number when it was killed)`;

export function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/** `twinslot --help`. */
export function mainHelp(): string {
  const section = (side: CommandHelp['side']): string =>
    Object.values(COMMANDS)
      .filter((c) => c.side === side)
      .map((c) => `  ${c.usage}`)
      .join('\n');
  return `twinslot: signed, resumable, A/B self-updates that revert on failure

Publisher:
${section('publisher')}

Client (device):
${section('client')}

Run "twinslot <command> --help" (or "twinslot help <command>") for a command's options and an example.
Add --json for one machine-readable JSON document on stdout. Progress shows as a bar on a terminal
and as an occasional plain line otherwise.

${EXIT_CODES_TEXT}`;
}

/** `twinslot <command> --help`. */
export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const options: (readonly [string, string])[] = [...c.options, ['--json', 'print one JSON document on stdout'], ['-h, --help', 'this help']];
  const width = Math.max(...options.map(([flag]) => flag.length)) + 2;
  return `Usage: ${c.usage}

${c.summary}

Options:
${options.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n')}

Example:
  ${c.example}

${EXIT_CODES_TEXT}`;
}
