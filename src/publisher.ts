/**
 * twinslot/publisher: build and sign releases into a static feed, and change rollout
 * controls of a channel. The `twinslot` CLI is a thin shell over these functions.
 *
 * @module
 */
export { type KeyPair, type PublicKey, generateKeyPair, parsePublicKey } from './manifest/keys.js';
export { readKeyFile, writeKeyFile } from './publish/key-file.js';
export { type PublishOptions, type PublishResult, publishRelease } from './publish/release.js';
export {
  type ChannelContent,
  type ChannelEditOptions,
  type ChannelEditResult,
  editChannel,
  parseDuration,
  readChannel,
} from './publish/channel-doc.js';
export { type FeedReport, verifyFeed } from './publish/verify-feed.js';
export { type RotateKeysOptions, type RotateKeysResult, rotateKeys } from './publish/rotate-keys.js';
export type { DeltaReport } from './publish/deltas.js';
export type { ManifestProbe, Pack, PatchEntry, ReleaseFile, ReleaseManifest } from './manifest/release.js';
export type { ChannelDocument, ChannelRelease, ReleasePointer, Rollout } from './manifest/channel.js';
export type { TrustedKeys } from './manifest/envelope.js';
export { ERROR_CODES, UpdateError, type UpdateErrorCode, isUpdateError } from './errors.js';
