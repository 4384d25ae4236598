// The `twinslot` binary as a user runs it: real processes, real files, a real server.
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSampleApp } from '../../examples/demo/sample-app.mjs';
import { type FeedFixture, createFeedFixture } from '../helpers/fixture.js';
import { type CliRun, cliRunner } from '../helpers/run-cli.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

type Run = CliRun;
const twinslot = cliRunner(() => CLI);

/** An error is one clear line on stderr. */
function oneLine(run: Run): string {
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^twinslot: /);
  return run.stderr.trim();
}

let feed: FeedFixture;
let keyFile: string;
let publicKey: string;

beforeEach(async () => {
  feed = await createFeedFixture();
  const keygen = await twinslot('keygen', '--out', join(feed.dir, 'keys'), '--json');
  expect(keygen.code).toBe(0);
  ({ publicKey, keyFile } = JSON.parse(keygen.stdout));
});

afterEach(async () => {
  await feed.close();
});

async function release(version: string, extra: string[] = [], selfTest: 'pass' | 'fail' = 'pass', edit?: string): Promise<Run> {
  const build = join(feed.dir, `build-${version}`);
  await writeSampleApp(build, { version, selfTest, payloadBytes: 100_000, seed: edit ? 'shared' : version, edit });
  return twinslot('release', build, '--feed', feed.feed, '--app', 'com.example.cli', '--version', version, '--channel', 'stable',
    '--platform', 'linux-x64', '--entry', 'bin/app', '--key', keyFile, '--probe', 'bin/app --self-test', ...extra);
}

async function install(root: string): Promise<Run> {
  return twinslot('install', '--feed', feed.url, '--root', root, '--app', 'com.example.cli', '--pub', publicKey, '--channel', 'stable', '--platform', 'linux-x64');
}

describe('publisher commands', () => {
  it('keygen writes an owner-only key file and refuses to overwrite it', async () => {
    expect(publicKey).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const again = await twinslot('keygen', '--out', join(feed.dir, 'keys'));
    expect(again.code).toBe(1);
    expect(oneLine(again)).toContain('refusing to overwrite');
  });

  it('release writes a feed that verify accepts, and verify finds a damaged blob', async () => {
    const run = await release('1.0.0', ['--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ version: '1.0.0', files: 4, sequence: 1 });
    expect((await twinslot('verify', '--feed', feed.feed, '--pub', publicKey)).code).toBe(0);

    const blob = join(feed.feed, 'blobs', 'sha256', out.pack);
    const bytes = await readFile(blob);
    bytes.writeUInt8(bytes.readUInt8(10) ^ 1, 10);
    await writeFile(blob, bytes);
    const bad = await twinslot('verify', '--feed', feed.feed, '--pub', publicKey);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('does not match');
  });

  it('release --deltas-from makes verified patches that verify checks chunk by chunk', async () => {
    expect((await release('1.0.0', [], 'pass', 'v1')).code).toBe(0);
    const run = await release('1.1.0', ['--deltas-from', '1', '--json'], 'pass', 'v1.1');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.deltasFrom).toEqual(['1.0.0']);
    expect(out.patches).toBeGreaterThanOrEqual(1);
    expect(out.patchBytes).toBeLessThan(20_000);
    const text = await release('1.2.0', ['--deltas-from', '2'], 'pass', 'v1.2');
    expect(text.stdout).toMatch(/\d+ patches \([^)]+\) from 1\.1\.0, 1\.0\.0; \d+ changed files diffed/);
    expect((await twinslot('verify', '--feed', feed.feed, '--pub', publicKey)).code).toBe(0);
    // A damaged patch blob is found.
    const manifest = JSON.parse(await readFile(join(feed.feed, 'releases', '1.1.0', 'linux-x64.json'), 'utf8'));
    const blob = join(feed.feed, 'blobs', 'sha256', manifest.signed.patches[0].blob);
    const bytes = await readFile(blob);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(blob, bytes);
    const bad = await twinslot('verify', '--feed', feed.feed, '--pub', publicKey);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('patch blob');
  });

  it('release refuses to republish a version, a missing option, a non-executable entry, a symlink', async () => {
    expect((await release('1.0.0')).code).toBe(0);
    const again = await release('1.0.0');
    expect(again.code).toBe(1);
    expect(oneLine(again)).toContain('already published');

    const missing = await twinslot('release', join(feed.dir, 'build-1.0.0'), '--feed', feed.feed);
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toContain('--app is required');

    const build = join(feed.dir, 'build-1.1.0');
    await writeSampleApp(build, { version: '1.1.0' });
    await chmod(join(build, 'bin', 'app'), 0o644);
    const notExec = await twinslot('release', build, '--feed', feed.feed, '--app', 'com.example.cli', '--version', '1.1.0', '--channel', 'stable', '--platform', 'linux-x64', '--entry', 'bin/app', '--key', keyFile);
    expect(notExec.code).toBe(1);
    expect(oneLine(notExec)).toContain('not executable');

    await chmod(join(build, 'bin', 'app'), 0o755);
    await symlink('/etc/passwd', join(build, 'assets', 'link'));
    const link = await twinslot('release', build, '--feed', feed.feed, '--app', 'com.example.cli', '--version', '1.1.0', '--channel', 'stable', '--platform', 'linux-x64', '--entry', 'bin/app', '--key', keyFile);
    expect(link.code).toBe(1);
    expect(oneLine(link)).toMatch(/UNSAFE_PATH.*symlink/);
  });

  it('an unknown command or option is a usage error (exit 2)', async () => {
    const unknown = await twinslot('frobnicate');
    expect(unknown.code).toBe(2);
    oneLine(unknown);
    const badOption = await twinslot('verify', '--feed', feed.feed, '--pub', publicKey, '--nope');
    expect(badOption.code).toBe(2);
    oneLine(badOption);
  });
});

describe('client commands', () => {
  it('install, status, launch with arguments passed through, update, commit', async () => {
    await release('1.0.0');
    const root = join(feed.dir, 'device');
    const inst = await install(root);
    expect(inst.code).toBe(0);
    expect(inst.stdout).toContain('installed com.example.cli 1.0.0');
    const config = JSON.parse(await readFile(join(root, 'twinslot.json'), 'utf8'));
    expect(config).toMatchObject({ appId: 'com.example.cli', channel: 'stable', trustedKeys: [publicKey] });

    const status = JSON.parse((await twinslot('status', '--root', root)).stdout);
    expect(status).toMatchObject({ installed: true, active: 'a', activeVersion: '1.0.0', trial: false });

    const launched = await twinslot('launch', '--root', root, '--', 'one', 'two words');
    expect(launched.code).toBe(0);
    expect(launched.stdout).toBe('sample app 1.0.0 running from slot a with one two words\n');

    await release('2.0.0');
    const upd = await twinslot('update', '--root', root);
    expect(upd.code).toBe(0);
    expect(upd.stdout).toContain('switched to 2.0.0');
    expect((await twinslot('launch', '--root', root)).stdout).toContain('sample app 2.0.0 running from slot b');
    const committed = await twinslot('commit', '--root', root);
    expect(committed.code).toBe(0);
    expect(committed.stdout).toContain('committed 2.0.0');

    // The operator revokes the running release: the next update goes back and says so.
    expect((await twinslot('revoke', '2.0.0', '--feed', feed.feed, '--channel', 'stable', '--key', keyFile)).code).toBe(0);
    const back = await twinslot('update', '--root', root, '--json');
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toEqual({ updated: false, reason: 'revoked', restartRequired: true, activeVersion: '1.0.0' });
    expect((await twinslot('launch', '--root', root)).stdout).toContain('sample app 1.0.0 running from slot a');
  });

  it('commit exits 10 after reverting a release whose probe fails', async () => {
    await release('1.0.0');
    const root = join(feed.dir, 'device');
    await install(root);
    await release('2.0.0', [], 'fail');
    expect((await twinslot('update', '--root', root)).code).toBe(0);
    const commit = await twinslot('commit', '--root', root);
    expect(commit.code).toBe(10);
    expect(commit.stdout).toContain('rolled back from 2.0.0 to 1.0.0');
    expect((await twinslot('launch', '--root', root)).stdout).toContain('sample app 1.0.0 running from slot a');
  });

  it('launch on a root with nothing installed or a damaged state file prints one line and exits 1', async () => {
    const empty = join(feed.dir, 'empty');
    await mkdir(empty);
    const none = await twinslot('launch', '--root', empty);
    expect(none.code).toBe(1);
    expect(oneLine(none)).toContain('nothing is installed');

    await release('1.0.0');
    const root = join(feed.dir, 'device');
    await install(root);
    await writeFile(join(root, 'state'), 'twinslot-state 1\nactive c\n');
    const damaged = await twinslot('launch', '--root', root);
    expect(damaged.code).toBe(1);
    expect(oneLine(damaged)).toContain('STATE_CORRUPT');
  });

  it('install against a feed signed by another key fails with SIGNATURE_INVALID and installs nothing', async () => {
    await release('1.0.0');
    const root = join(feed.dir, 'device');
    const run = await twinslot('install', '--feed', feed.url, '--root', root, '--app', 'com.example.cli', '--pub', feed.publicKey, '--channel', 'stable', '--platform', 'linux-x64');
    expect(run.code).toBe(1);
    expect(oneLine(run)).toContain('SIGNATURE_INVALID');
    await expect(stat(join(root, 'state'))).rejects.toThrow();
  });
});
