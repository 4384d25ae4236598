/**
 * `twinslot release`: turns a build folder into a signed release of a static feed.
 * Writes the pack blob, the release manifest (immutable: a version is published once
 * per platform), and a new channel document that points at it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { UpdateError } from '../errors.js';
import { sealEnvelope } from '../manifest/envelope.js';
import { checkPlatform, checkVersion } from '../manifest/fields.js';
import type { KeyPair } from '../manifest/keys.js';
import { checkSlotPath } from '../manifest/paths.js';
import { type ManifestProbe, RELEASE_TYPE, type ReleaseManifest, parseReleaseManifest } from '../manifest/release.js';
import { DEFAULT_CHUNK_SIZE, buildPack } from './build-pack.js';
import { type ChannelEditResult, editChannel, writeFileReplacing } from './channel-doc.js';
import { type DeltaReport, makeDeltas } from './deltas.js';
import { scanBuild } from './scan-build.js';

/** What {@link publishRelease} publishes, and where (the `twinslot release` flags). */
export interface PublishOptions {
  /** The folder holding the app tree as it should appear in a slot. */
  readonly buildDir: string;
  /** The feed folder (created if missing); serve it as static files. */
  readonly feedDir: string;
  /** The app id, e.g. `com.example.myapp` (`--app`). */
  readonly app: string;
  /** The new version, semver; a version is published once per platform (`--version`). */
  readonly version: string;
  /** The channel whose document is moved to this release (`--channel`). */
  readonly channel: string;
  /** `<os>-<arch>`, e.g. `linux-x64` (`--platform`). */
  readonly platform: string;
  /** The executable the launcher starts, relative to the build folder. */
  readonly entry: string;
  /** Signing keys; all of them sign (k-of-n thresholds need k). */
  readonly keys: readonly KeyPair[];
  /** How long the new channel document stays valid, in ms (default 30 days; `--expires`). */
  readonly expiresInMs?: number | undefined;
  /** Probes signed into the release. */
  readonly probes?: readonly ManifestProbe[] | undefined;
  /** Bytes per verified chunk of the pack (default 1 MiB; `--chunk-size`). */
  readonly chunkSize?: number | undefined;
  /** Rollout percentages for this release (default `*`=100). */
  readonly rings?: Readonly<Record<string, number>> | undefined;
  /** Mark the channel's release critical: clients skip the consent hooks (`--critical`). */
  readonly critical?: boolean | undefined;
  /** Make patches from each of the last N releases of this platform (default 0: none). */
  readonly deltasFrom?: number | undefined;
  /** Files diffed at once (default: the number of cores). */
  readonly deltaConcurrency?: number | undefined;
  /** The current time in ms since the epoch (default `Date.now()`); for reproducible tests. */
  readonly now?: number | undefined;
  /** `phase` is `pack` (bytes packed) or `deltas` (bytes of changed files diffed). */
  readonly onProgress?: ((phase: string, done: number, total: number) => void) | undefined;
  /** Something worth telling the publisher that is not an error (a dropped patch, a skipped release). */
  readonly onNote?: ((line: string) => void) | undefined;
}

/** What {@link publishRelease} wrote. */
export interface PublishResult {
  /** Absolute path of the new release manifest file. */
  readonly manifestPath: string;
  /** SHA-256 of that file, as the channel document pins it. */
  readonly manifestSha256: string;
  /** The release manifest as signed. */
  readonly manifest: ReleaseManifest;
  /** The channel document written to point at the release. */
  readonly channel: ChannelEditResult;
  /** What `deltasFrom` produced, when asked. */
  readonly deltas: DeltaReport | null;
}

export function releaseManifestPath(version: string, platform: string): string {
  return `releases/${version}/${platform}.json`;
}

/**
 * Publishes a build folder as a signed release: writes the pack (and patches) under
 * `blobs/sha256/`, the release manifest under `releases/<version>/<platform>.json`, and
 * a new signed channel document with a higher sequence. `twinslot release` calls it.
 *
 * @throws {@link UpdateError} `INVALID_OPTIONS` for bad flags, an already published
 * version, a missing or non-executable entry, or deltas asked for without the optional
 * `bsdiff-node` and `seek-bzip` packages installed.
 */
export async function publishRelease(o: PublishOptions): Promise<PublishResult> {
  checkVersion(o.version, '--version');
  checkPlatform(o.platform, '--platform');
  checkSlotPath(o.entry, '--entry');
  if (o.keys.length === 0) throw new UpdateError('INVALID_OPTIONS', 'at least one signing key is required');
  const relPath = releaseManifestPath(o.version, o.platform);
  const manifestPath = join(o.feedDir, relPath);
  if (await stat(manifestPath).catch(() => null)) {
    throw new UpdateError('INVALID_OPTIONS', `${o.app} ${o.version} for ${o.platform} is already published (${relPath}); releases are immutable, publish a new version`);
  }

  const build = await scanBuild(o.buildDir);
  const entry = build.find((f) => f.path === o.entry);
  if (!entry) throw new UpdateError('INVALID_OPTIONS', `entry ${o.entry} is not a file of ${o.buildDir}`);
  if (entry.mode !== 0o755) throw new UpdateError('INVALID_OPTIONS', `entry ${o.entry} is not executable (chmod +x it)`);
  const now = o.now ?? Date.now();

  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const { pack, files } = await buildPack(o.feedDir, build, chunkSize, (d, t) => o.onProgress?.('pack', d, t));
  const deltas =
    o.deltasFrom && o.deltasFrom > 0
      ? await makeDeltas({
          feedDir: o.feedDir,
          app: o.app,
          platform: o.platform,
          version: o.version,
          files,
          sources: new Map(build.map((f) => [f.path, f.absolute])),
          from: o.deltasFrom,
          chunkSize,
          trust: { keys: o.keys.map((k) => k.publicKey), threshold: 1 },
          concurrency: o.deltaConcurrency,
          onProgress: (d, t) => o.onProgress?.('deltas', d, t),
          onNote: o.onNote,
        })
      : null;
  const signed = {
    _type: RELEASE_TYPE,
    spec: 1,
    app: o.app,
    version: o.version,
    platform: o.platform,
    entry: o.entry,
    created: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    files,
    pack,
    patches: deltas?.patches ?? [],
    probes: (o.probes ?? []).map((p) => ({ when: p.when, command: [...p.command], timeoutMs: p.timeoutMs })),
  };
  const manifest = parseReleaseManifest(signed); // refuse to publish what clients would refuse
  const bytes = sealEnvelope(signed, o.keys);
  await writeFileReplacing(manifestPath, bytes);
  const manifestSha256 = createHash('sha256').update(bytes).digest('hex');

  const channel = await editChannel(
    { feedDir: o.feedDir, channel: o.channel, keys: o.keys, app: o.app, expiresInMs: o.expiresInMs, now },
    (content) => {
      const pointer = { url: relPath, sha256: manifestSha256, size: bytes.length };
      if (content.release && content.release.version === o.version) {
        content.release.platforms[o.platform] = pointer;
        return;
      }
      if (content.release && semver.lt(o.version, content.release.version)) {
        throw new UpdateError('INVALID_OPTIONS', `channel ${o.channel} already offers ${content.release.version}, newer than ${o.version}`);
      }
      content.release = { version: o.version, platforms: { [o.platform]: pointer } };
      content.rollout = { rings: { ...(o.rings ?? { '*': 100 }) }, halted: false };
      content.critical = o.critical ?? false;
    },
  );
  return { manifestPath, manifestSha256, manifest, channel, deltas };
}
