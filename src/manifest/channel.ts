/**
 * The channel document (DESIGN.md §2): small, signed, mutable. It names the current
 * release per platform, pinned by hash and size, and carries the rollout controls.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { checkPlatform, checkVersion, FieldReader, invalidField } from './fields.js';

export const CHANNEL_TYPE = 'twinslot/channel';

/** Where a platform's release manifest is, and the hash and size that pin it. */
export interface ReleasePointer {
  /** Path relative to the feed root, e.g. `releases/2.0.0/linux-x64.json`. */
  readonly url: string;
  /** SHA-256 of the signed release manifest file. */
  readonly sha256: string;
  /** Its size in bytes. */
  readonly size: number;
}

/** The release a channel currently offers. */
export interface ChannelRelease {
  /** The offered version. */
  readonly version: string;
  /** Release manifest per `<os>-<arch>` platform. */
  readonly platforms: Readonly<Record<string, ReleasePointer>>;
}

/** Staged rollout: per-ring percentages (`*` for installs in no listed ring) and the halt switch. */
export interface Rollout {
  /** Percent (0-100) of each ring's installs that are offered the release. */
  readonly rings: Readonly<Record<string, number>>;
  /** True while the rollout is halted: no install starts a download. */
  readonly halted: boolean;
}

/** A verified, parsed channel document. */
export interface ChannelDocument {
  /** The app id. */
  readonly app: string;
  /** The channel name, e.g. `stable`. */
  readonly channel: string;
  /** Strictly increasing with every change; protects against rollback. */
  readonly sequence: number;
  /** Expiry, epoch milliseconds; protects against freeze. */
  readonly expires: number;
  /** The release on offer, or null for a channel that has none yet. */
  readonly release: ChannelRelease | null;
  /** Who gets the release, and whether the rollout is halted. */
  readonly rollout: Rollout;
  /** Versions that must not run: installs on them revert. */
  readonly revoked: readonly string[];
  /** Skip consent hooks and install at the next opportunity. */
  readonly critical: boolean;
  /** Installs below this version take the full update path. */
  readonly minimumVersion: string | null;
  /** The feed's newest root key version (1 when keys were never rotated): an install behind it follows the chain. */
  readonly root: number;
}

const MAX_PLATFORMS = 64;
const MAX_RINGS = 64;
const MAX_REVOKED = 1024;
const FEED_PATH = /^(?:[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}\/){0,7}[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$/;

/** Parses the verified `signed` value of a channel document. */
export function parseChannelDocument(signed: unknown): ChannelDocument {
  const r = FieldReader.of(signed, 'channel');
  const type = r.raw('_type');
  if (type !== CHANNEL_TYPE) {
    throw new UpdateError('INVALID_MANIFEST', `expected a ${CHANNEL_TYPE} document, got ${JSON.stringify(type)}`);
  }
  r.literal('spec', 1);
  return {
    app: r.id('app'),
    channel: r.id('channel'),
    sequence: r.integer('sequence', 1),
    expires: r.time('expires'),
    release: r.has('release') ? parseRelease(r.object('release')) : (r.raw('release'), null),
    rollout: parseRollout(r.object('rollout')),
    revoked: r.array('revoked', MAX_REVOKED).map((v, i) => {
      if (typeof v !== 'string') throw invalidField(`channel.revoked[${i}]`, 'must be a version string');
      return checkVersion(v, `channel.revoked[${i}]`);
    }),
    critical: r.boolean('critical'),
    minimumVersion: r.has('minimumVersion') ? r.version('minimumVersion') : (r.raw('minimumVersion'), null),
    root: r.has('root') ? r.integer('root', 1) : 1,
  };
}

function parseRelease(r: FieldReader): ChannelRelease {
  const version = r.version('version');
  const platformsReader = r.object('platforms');
  const names = Object.keys(platformsReader.value);
  if (names.length > MAX_PLATFORMS) throw invalidField(`${platformsReader.where}`, `has more than ${MAX_PLATFORMS} platforms`);
  const platforms: Record<string, ReleasePointer> = {};
  for (const name of names) {
    checkPlatform(name, `${platformsReader.where} key`);
    const p = platformsReader.object(name);
    const url = p.string('url', 1024);
    if (!FEED_PATH.test(url) || url.split('/').some((s) => s === '.' || s === '..')) {
      throw invalidField(`${p.where}.url`, `is not a plain relative feed path: ${JSON.stringify(url)}`);
    }
    platforms[name] = { url, sha256: p.sha256('sha256'), size: p.integer('size', 1) };
  }
  return { version, platforms };
}

function parseRollout(r: FieldReader): Rollout {
  const ringsReader = r.object('rings');
  const names = Object.keys(ringsReader.value);
  if (names.length > MAX_RINGS) throw invalidField(ringsReader.where, `has more than ${MAX_RINGS} rings`);
  const rings: Record<string, number> = {};
  for (const name of names) {
    if (name !== '*' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw invalidField(`${ringsReader.where}`, `has an invalid ring name ${JSON.stringify(name)}`);
    }
    rings[name] = ringsReader.integer(name, 0, 100);
  }
  return { rings, halted: r.boolean('halted') };
}
