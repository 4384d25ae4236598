/**
 * publish/: the publisher's side: keys, packs, signed manifests, channel edits, feed checks.
 * @module
 */
export { type BuiltPack, DEFAULT_CHUNK_SIZE, buildPack } from './build-pack.js';
export {
  type ChannelContent,
  type ChannelEditOptions,
  type ChannelEditResult,
  DEFAULT_EXPIRY_MS,
  channelPath,
  editChannel,
  parseDuration,
  readChannel,
  writeFileReplacing,
} from './channel-doc.js';
export { formatKeyFile, parseKeyFile, readKeyFile, writeKeyFile } from './key-file.js';
export { type PublishOptions, type PublishResult, publishRelease, releaseManifestPath } from './release.js';
export { type BuildFile, scanBuild } from './scan-build.js';
export { type FeedReport, verifyFeed } from './verify-feed.js';
