/**
 * Edits a channel document on the publisher's side: read the current one, apply a
 * change, bump the sequence, renew the expiry, sign, and replace the file atomically.
 * Every rollout control (release, rollout, halt, resume, revoke) is such an edit.
 *
 * @module
 */
import { mkdir, open, readFile, readdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UpdateError } from '../errors.js';
import { CHANNEL_TYPE, type ChannelDocument, type ReleasePointer, parseChannelDocument } from '../manifest/channel.js';
import { isPlainObject, sealEnvelope } from '../manifest/envelope.js';
import type { KeyPair } from '../manifest/keys.js';

/** The editable content of a channel document (the signed part, minus what the editor sets). */
export interface ChannelContent {
  /** The release on offer, or null. */
  release: {
    /** The offered version. */
    version: string;
    /** Release manifest per `<os>-<arch>` platform. */
    platforms: Record<string, ReleasePointer>;
  } | null;
  /** The staged rollout. */
  rollout: {
    /** Percent (0-100) per ring; `*` covers installs in no listed ring. */
    rings: Record<string, number>;
    /** While true, no install starts a download. */
    halted: boolean;
  };
  /** Versions that must not run: installs on them revert, and none is offered them. */
  revoked: string[];
  /** Clients install the release without asking (the consent hooks are skipped). */
  critical: boolean;
  /** The lowest version clients should run, or null. */
  minimumVersion: string | null;
}

/** Which channel document {@link editChannel} rewrites, and with which keys. */
export interface ChannelEditOptions {
  /** The feed folder. */
  readonly feedDir: string;
  /** The channel name; its document is `channels/<channel>.json`. */
  readonly channel: string;
  /** Signing keys; every one signs the new document. */
  readonly keys: readonly KeyPair[];
  /** App id; required when the channel document does not exist yet. */
  readonly app?: string | undefined;
  /** How long the new document stays valid, ms (default 30 days). */
  readonly expiresInMs?: number | undefined;
  /** The current time in ms since the epoch (default `Date.now()`). */
  readonly now?: number | undefined;
}

/** The channel document {@link editChannel} wrote. */
export interface ChannelEditResult {
  /** Its file. */
  readonly path: string;
  /** Its new sequence: one more than the previous document's. */
  readonly sequence: number;
  /** Its expiry, ISO 8601 UTC. */
  readonly expires: string;
  /** What it now says. */
  readonly content: ChannelContent;
}

export const DEFAULT_EXPIRY_MS = 30 * 24 * 3600 * 1000;

export function channelPath(feedDir: string, channel: string): string {
  return join(feedDir, 'channels', `${channel}.json`);
}

/** The current channel document of a feed folder, or null. The publisher's own disk is trusted; the format is still checked. */
export async function readChannel(feedDir: string, channel: string): Promise<ChannelDocument | null> {
  let text: string;
  try {
    text = await readFile(channelPath(feedDir, channel), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UpdateError('IO', `cannot read channel ${channel}: ${(err as Error).message}`, { cause: err });
  }
  let outer: unknown;
  try {
    outer = JSON.parse(text);
  } catch (err) {
    throw new UpdateError('INVALID_MANIFEST', `channels/${channel}.json is not valid JSON`, { cause: err });
  }
  if (!isPlainObject(outer)) throw new UpdateError('INVALID_MANIFEST', `channels/${channel}.json is not a signed envelope`);
  return parseChannelDocument(outer.signed);
}

/**
 * Applies `edit` to the channel's content and writes the new signed document with the
 * next sequence and a renewed expiry, atomically. Every rollout control (`rollout`,
 * `halt`, `resume`, `revoke`, `critical`) is such an edit.
 *
 * @example
 * ```ts
 * await editChannel({ feedDir: 'feed', channel: 'stable', keys: [await readKeyFile('keys/twinslot.key')] },
 *   (c) => { c.rollout.halted = true; });
 * ```
 */
export async function editChannel(options: ChannelEditOptions, edit: (content: ChannelContent, current: ChannelDocument | null) => void): Promise<ChannelEditResult> {
  const current = await readChannel(options.feedDir, options.channel);
  const app = current?.app ?? options.app;
  if (!app) throw new UpdateError('INVALID_OPTIONS', `channel ${options.channel} does not exist yet in ${options.feedDir}; publish a release first`);
  if (options.app && current && current.app !== options.app) {
    throw new UpdateError('WRONG_TARGET', `channel ${options.channel} belongs to app ${current.app}, not ${options.app}`);
  }
  const content: ChannelContent = current
    ? {
        release: current.release ? { version: current.release.version, platforms: { ...current.release.platforms } } : null,
        rollout: { rings: { ...current.rollout.rings }, halted: current.rollout.halted },
        revoked: [...current.revoked],
        critical: current.critical,
        minimumVersion: current.minimumVersion,
      }
    : { release: null, rollout: { rings: { '*': 100 }, halted: false }, revoked: [], critical: false, minimumVersion: null };
  edit(content, current);
  const now = options.now ?? Date.now();
  const expires = new Date(now + (options.expiresInMs ?? DEFAULT_EXPIRY_MS)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sequence = (current?.sequence ?? 0) + 1;
  const root = await newestRootVersion(options.feedDir);
  const signed = {
    _type: CHANNEL_TYPE,
    spec: 1,
    app,
    channel: options.channel,
    sequence,
    expires,
    release: content.release,
    rollout: content.rollout,
    revoked: content.revoked,
    critical: content.critical,
    minimumVersion: content.minimumVersion,
    // Only once keys were rotated, so feeds that never rotate keep their exact format.
    ...(root > 1 ? { root } : {}),
  };
  parseChannelDocument(signed); // the publisher never writes a document clients would refuse
  const path = channelPath(options.feedDir, options.channel);
  await writeFileReplacing(path, sealEnvelope(signed, options.keys));
  return { path, sequence, expires, content };
}

/** Replaces a feed file atomically, so a web server never serves half of it. */
export async function writeFileReplacing(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.write(data, 0, data.length, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** The highest N of `<feed>/keys/root.N.json` (1 when keys were never rotated). */
export async function newestRootVersion(feedDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(join(feedDir, 'keys'));
  } catch {
    return 1;
  }
  let newest = 1;
  for (const name of names) {
    const m = /^root\.([1-9][0-9]{0,8})\.json$/.exec(name);
    if (m) newest = Math.max(newest, Number(m[1]));
  }
  return newest;
}

/** `30d`, `12h`, `90m`, `45s` to milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,6})([smhd])$/.exec(text);
  if (!m) throw new UpdateError('INVALID_OPTIONS', `"${text}" is not a duration like 30d, 12h, 90m or 45s`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
