/**
 * Publisher commands: keygen, release, verify, and the rollout controls (rollout,
 * halt, resume, revoke), each a thin shell over publish/.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UpdateError } from '../errors.js';
import { generateKeyPair, parsePublicKey } from '../manifest/keys.js';
import type { ManifestProbe } from '../manifest/release.js';
import { checkVersion } from '../manifest/fields.js';
import { type ChannelEditResult, editChannel, parseDuration } from '../publish/channel-doc.js';
import { rotateKeys } from '../publish/rotate-keys.js';
import { readKeyFile, writeKeyFile } from '../publish/key-file.js';
import { publishRelease } from '../publish/release.js';
import { verifyFeed } from '../publish/verify-feed.js';
import { UsageError, int, list, optStr, parse, required, rings, splitCommand, str } from './args.js';
import { type Output, formatBytes } from './output.js';

export async function keygen(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('keygen', argv, { out: { type: 'string' } }, 0);
  required(p, 'keygen', 'out');
  const o = out(p.values.json === true);
  const dir = resolve(str(p, 'out'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPair();
  const keyFile = join(dir, 'twinslot.key');
  await writeKeyFile(keyFile, pair);
  o.data({ publicKey: pair.publicKey.text, keyid: pair.publicKey.keyid, keyFile });
  o.line(pair.publicKey.text);
  return 0;
}

export async function release(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse(
    'release',
    argv,
    {
      feed: { type: 'string' },
      app: { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string' },
      platform: { type: 'string' },
      entry: { type: 'string' },
      key: { type: 'string', multiple: true },
      expires: { type: 'string' },
      probe: { type: 'string', multiple: true },
      'pre-probe': { type: 'string', multiple: true },
      'probe-timeout': { type: 'string' },
      'chunk-size': { type: 'string' },
      'deltas-from': { type: 'string' },
      ring: { type: 'string', multiple: true },
      critical: { type: 'boolean' },
    },
    1,
  );
  const buildDir = p.positionals[0];
  if (!buildDir) throw new UsageError('release: the build folder is required (twinslot release <build-dir> ...)');
  required(p, 'release', 'feed', 'app', 'version', 'channel', 'platform', 'entry', 'key');
  const o = out(p.values.json === true);
  const timeoutMs = int(p, 'probe-timeout', 1, 3_600_000) ?? 30_000;
  const probes: ManifestProbe[] = [
    ...list(p, 'pre-probe').map((c) => ({ when: 'pre-switch' as const, command: splitCommand(c), timeoutMs })),
    ...list(p, 'probe').map((c) => ({ when: 'post-start' as const, command: splitCommand(c), timeoutMs })),
  ];
  const keys = await Promise.all(list(p, 'key').map((k) => readKeyFile(k)));
  const expires = optStr(p, 'expires');
  const ringValues = list(p, 'ring');
  const result = await publishRelease({
    buildDir: resolve(buildDir),
    feedDir: resolve(str(p, 'feed')),
    app: str(p, 'app'),
    version: str(p, 'version'),
    channel: str(p, 'channel'),
    platform: str(p, 'platform'),
    entry: str(p, 'entry'),
    keys,
    expiresInMs: expires ? parseDuration(expires) : undefined,
    probes,
    chunkSize: int(p, 'chunk-size', 4096, 64 * 1024 * 1024),
    rings: ringValues.length > 0 ? rings(ringValues) : undefined,
    critical: p.values.critical === true,
    deltasFrom: int(p, 'deltas-from', 0, 100) ?? 0,
    onProgress: (phase, done, total) => o.progress(phase === 'deltas' ? 'diffing changed files' : phase === 'pack' ? 'hashing and packing' : phase, done, total),
    onNote: (line) => o.note(line),
  });
  o.endProgress();
  const { manifest, channel, deltas } = result;
  const patchBytes = manifest.patches.reduce((sum, x) => sum + x.size, 0);
  o.data({
    app: manifest.app,
    version: manifest.version,
    platform: manifest.platform,
    files: manifest.files.length,
    size: manifest.pack.size,
    pack: manifest.pack.sha256,
    manifest: result.manifestPath,
    manifestSha256: result.manifestSha256,
    channel: channel.path,
    sequence: channel.sequence,
    expires: channel.expires,
    patches: manifest.patches.length,
    patchBytes,
    deltasFrom: deltas?.fromVersions ?? [],
  });
  o.line(
    `published ${manifest.app} ${manifest.version} for ${manifest.platform}: ${manifest.files.length} files, ${formatBytes(manifest.pack.size)}; ` +
      `channel ${str(p, 'channel')} is at sequence ${channel.sequence}, valid until ${channel.expires}`,
  );
  if (deltas) {
    o.line(
      deltas.fromVersions.length === 0
        ? 'no earlier release of this platform to patch from'
        : `${manifest.patches.length} patches (${formatBytes(patchBytes)}) from ${deltas.fromVersions.join(', ')}; ${deltas.diffed} changed files diffed, ${deltas.dropped} patches dropped`,
    );
  }
  return 0;
}

export async function verify(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('verify', argv, { feed: { type: 'string' }, pub: { type: 'string', multiple: true }, threshold: { type: 'string' } }, 0);
  required(p, 'verify', 'feed', 'pub');
  const o = out(p.values.json === true);
  const keys = list(p, 'pub').map((k) => parsePublicKey(k));
  const report = await verifyFeed(resolve(str(p, 'feed')), { keys, threshold: int(p, 'threshold', 1, 64) ?? 1 }, Date.now(), (done, total) => o.progress('hashing blobs', done, total));
  o.endProgress();
  o.data(report);
  for (const c of report.channels) o.line(`channel ${c.name}: sequence ${c.sequence}, version ${c.version ?? '-'}, expires ${c.expires}`);
  o.line(`${report.releases} release manifest(s), ${report.blobs} blob(s) checked`);
  for (const problem of report.problems) o.line(`problem: ${problem}`);
  if (!report.ok) {
    if (o.json) return 1;
    throw new UpdateError('CHECKSUM_MISMATCH', `the feed has ${report.problems.length} problem(s); see above`);
  }
  o.line('feed OK');
  return 0;
}

type ChannelCommand = 'rollout' | 'halt' | 'resume' | 'revoke' | 'critical';

export async function channelControl(command: ChannelCommand, argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse(
    command,
    argv,
    {
      feed: { type: 'string' },
      channel: { type: 'string' },
      key: { type: 'string', multiple: true },
      expires: { type: 'string' },
      ring: { type: 'string', multiple: true },
      'minimum-version': { type: 'string' },
      off: { type: 'boolean' },
    },
    command === 'revoke' ? 1 : 0,
  );
  required(p, command, 'feed', 'channel', 'key');
  const o = out(p.values.json === true);
  const version = p.positionals[0];
  if (command === 'revoke' && !version) throw new UsageError('revoke: the version to revoke is required (twinslot revoke <version> ...)');
  if (command === 'rollout' && list(p, 'ring').length === 0 && optStr(p, 'minimum-version') === undefined) {
    throw new UsageError('rollout: give at least one --ring name=percent or --minimum-version');
  }
  const ringValues = rings(list(p, 'ring'));
  const minimum = optStr(p, 'minimum-version');
  if (minimum !== undefined && minimum !== 'none') checkVersion(minimum, '--minimum-version');
  if (version) checkVersion(version, 'revoke');
  const keys = await Promise.all(list(p, 'key').map((k) => readKeyFile(k)));
  const expires = optStr(p, 'expires');
  const result: ChannelEditResult = await editChannel(
    { feedDir: resolve(str(p, 'feed')), channel: str(p, 'channel'), keys, expiresInMs: expires ? parseDuration(expires) : undefined },
    (content) => {
      if (command === 'rollout') {
        Object.assign(content.rollout.rings, ringValues);
        if (minimum !== undefined) content.minimumVersion = minimum === 'none' ? null : minimum;
      } else if (command === 'halt') content.rollout.halted = true;
      else if (command === 'resume') content.rollout.halted = false;
      else if (command === 'critical') content.critical = p.values.off !== true;
      else if (version && !content.revoked.includes(version)) content.revoked.push(version);
    },
  );
  o.data({ channel: str(p, 'channel'), sequence: result.sequence, expires: result.expires, ...result.content });
  const { rollout } = result.content;
  o.line(
    `channel ${str(p, 'channel')} sequence ${result.sequence}: ${rollout.halted ? 'HALTED' : 'rolling out'} ` +
      `${Object.entries(rollout.rings).map(([r, v]) => `${r}=${v}%`).join(' ')}` +
      `${result.content.revoked.length ? `; revoked ${result.content.revoked.join(', ')}` : ''}`,
  );
  return 0;
}

export async function rotateKeysCommand(argv: string[], out: (json: boolean) => Output): Promise<number> {
  const p = parse('rotate-keys', argv, { feed: { type: 'string' }, app: { type: 'string' }, key: { type: 'string', multiple: true }, 'new-key': { type: 'string', multiple: true }, threshold: { type: 'string' } }, 0);
  required(p, 'rotate-keys', 'feed', 'app', 'key', 'new-key');
  const o = out(p.values.json === true);
  const currentKeys = await Promise.all(list(p, 'key').map((k) => readKeyFile(k)));
  const newKeys = await Promise.all(list(p, 'new-key').map((k) => readKeyFile(k)));
  const result = await rotateKeys({ feedDir: resolve(str(p, 'feed')), app: str(p, 'app'), currentKeys, newKeys, threshold: int(p, 'threshold', 1, 64) });
  o.data({ version: result.version, path: result.path, keys: newKeys.map((k) => k.publicKey.text) });
  o.line(`published root key version ${result.version} (${result.path}); sign releases and channel changes with the new keys from now on`);
  return 0;
}
