// The CLI's manners: help for every command, one JSON document with --json, progress
// that is a bar on a terminal and never a control character in a log. Real processes,
// real files, a real feed server.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleApp } from '../../examples/demo/sample-app.mjs';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';
import { type CliRun, cliRunner } from '../helpers/run-cli.js';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const COMMANDS = ['keygen', 'release', 'rollout', 'halt', 'resume', 'revoke', 'critical', 'verify', 'rotate-keys', 'install', 'update', 'commit', 'rollback', 'status', 'launch'];
// Anything but newline: \r, escape sequences, backspace... (a CI log must stay plain).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;

type Run = CliRun;
const twinslot = cliRunner(() => CLI);

let feed: FeedFixture;
let keyFile: string;
let publicKey: string;

beforeAll(async () => {
  feed = await createFeedFixture();
  const keygen = await twinslot('keygen', '--out', join(feed.dir, 'keys'), '--json');
  ({ publicKey, keyFile } = JSON.parse(keygen.stdout));
});

afterAll(async () => {
  await feed.close();
});

async function release(version: string, ...extra: string[]): Promise<Run> {
  const build = join(feed.dir, `build-${version}`);
  await writeSampleApp(build, { version, selfTest: 'pass', payloadBytes: 200_000, seed: 'shared', edit: version });
  return twinslot('release', build, '--feed', feed.feed, '--app', 'com.example.cli', '--version', version, '--channel', 'stable',
    '--platform', 'linux-x64', '--entry', 'bin/app', '--key', keyFile, '--probe', 'bin/app --self-test', ...extra);
}

describe('help', () => {
  it('every command has --help and help <command>: a usage line, options, an example, the exit codes', async () => {
    const runs = await Promise.all(COMMANDS.flatMap((c) => [twinslot(c, '--help'), twinslot('help', c)]));
    COMMANDS.forEach((command, i) => {
      const [flag, word] = [runs[2 * i]!, runs[2 * i + 1]!];
      expect(flag.code, command).toBe(0);
      expect(flag.stdout).toMatch(new RegExp(`^Usage: twinslot ${command}[ \\n]`));
      expect(flag.stdout).toContain('\nOptions:\n');
      expect(flag.stdout).toContain('  --json ');
      expect(flag.stdout).toMatch(new RegExp(`\\nExample:\\n  twinslot ${command} `));
      expect(flag.stdout).toContain('10   commit reverted the trial');
      expect(word).toEqual(flag);
    });
    // -h works too, and `launch -- --help` belongs to the app, not to us.
    expect((await twinslot('status', '-h')).stdout).toMatch(/^Usage: twinslot status/);
  });

  it('twinslot --help lists every command and the exit codes; bare twinslot is a usage error', async () => {
    const help = await twinslot('--help');
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toContain(`  twinslot ${c} `);
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 +success\n {2}1 +an error.*\n {2}2 +a usage mistake.*\n {2}10 +commit reverted/);
    const bare = await twinslot();
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Exit codes:');
    const unknown = await twinslot('help', 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('twinslot: help: unknown command "frobnicate"; run "twinslot --help"\n');
  });
});

describe('--json and plain output', () => {
  it('each data command prints one parseable JSON document; failures too; plain output has no control characters', async () => {
    const plain: Run[] = [];
    const json = async (...args: string[]): Promise<Record<string, unknown>> => {
      const run = await twinslot(...args, '--json');
      expect(run.code, `${args[0]}: ${run.stderr}`).toBe(0);
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    plain.push(await release('1.0.0'));
    expect(JSON.parse((await release('1.1.0', '--deltas-from', '1', '--json')).stdout)).toMatchObject({ version: '1.1.0', deltasFrom: ['1.0.0'] });
    expect(await json('verify', '--feed', feed.feed, '--pub', publicKey)).toMatchObject({ ok: true, releases: 2, problems: [] });
    plain.push(await twinslot('verify', '--feed', feed.feed, '--pub', publicKey));
    const control = ['--feed', feed.feed, '--channel', 'stable', '--key', keyFile];
    expect(await json('halt', ...control)).toMatchObject({ channel: 'stable', rollout: { halted: true } });
    expect(await json('resume', ...control)).toMatchObject({ rollout: { halted: false } });
    expect(await json('rollout', ...control, '--ring', '*=100')).toMatchObject({ rollout: { rings: { '*': 100 } } });
    expect(await json('critical', ...control, '--off')).toMatchObject({ critical: false });

    const root = join(feed.dir, 'device');
    const installArgs = ['install', '--feed', feed.url, '--root', root, '--app', 'com.example.cli', '--pub', publicKey, '--channel', 'stable', '--platform', 'linux-x64'];
    expect(await json(...installArgs)).toMatchObject({ installed: true, version: '1.1.0', slot: 'a' });
    expect(await json('status', '--root', root)).toMatchObject({ installed: true, activeVersion: '1.1.0' });
    plain.push(await release('1.2.0', '--deltas-from', '2'));
    plain.push(await twinslot('update', '--root', root));
    expect(await json('commit', '--root', root)).toMatchObject({ outcome: 'committed', version: '1.2.0' });
    expect(await json('rollback', '--root', root)).toMatchObject({ outcome: 'rolled-back', fromVersion: '1.2.0', toVersion: '1.1.0' });
    expect(await json('revoke', '1.0.0', ...control)).toMatchObject({ revoked: ['1.0.0'] });

    for (const run of plain) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout + run.stderr).not.toMatch(CONTROL);
    }
    expect(plain[3]!.stdout).toContain('switched to 1.2.0');

    // A failure with --json: the same exit code and stderr line, and a JSON error on stdout.
    const refused = await twinslot('keygen', '--out', join(feed.dir, 'keys'), '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toEqual({ error: { code: 'INVALID_OPTIONS', message: expect.stringContaining('refusing to overwrite') } });
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const usage = await twinslot('status', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'USAGE', message: 'status: --root is required' } });
  });

  it.runIf(existsSync('/usr/bin/script'))('on a terminal, long work shows a bar redrawn with \\r', async () => {
    // script(1) gives the CLI a pseudo-terminal for stdout and stderr.
    const command = [process.execPath, CLI, 'verify', '--feed', feed.feed, '--pub', publicKey].map((a) => `'${a}'`).join(' ');
    const { stdout } = await exec('/usr/bin/script', ['-qefc', command, '/dev/null']).catch((err: { stdout: string; message: string }) => {
      throw new Error(`${err.message}\n${JSON.stringify(err.stdout)}`);
    });
    expect(stdout).toMatch(/\r\x1b\[2Khashing blobs \[[#.]{24}\] +\d+%/);
    expect(stdout).toContain('feed OK');
  });
});
