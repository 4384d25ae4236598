/**
 * manifest/: the signed documents of a feed: their formats, strict parsing with size
 * caps, canonical JSON, ed25519 threshold signatures, and trust state.
 *
 * @module
 */
export { canonicalJson } from './canonical-json.js';
export { type KeyPair, type PublicKey, generateKeyPair, keyIdOf, keyPairFromSeed, parsePublicKey, signBytes, verifyBytes } from './keys.js';
export { DOCUMENT_LIMITS, type OpenedEnvelope, type TrustedKeys, openEnvelope, sealEnvelope, verifyThreshold } from './envelope.js';
export { CHANNEL_TYPE, type ChannelDocument, type ChannelRelease, type ReleasePointer, type Rollout, parseChannelDocument } from './channel.js';
export {
  RELEASE_LIMITS,
  RELEASE_TYPE,
  type ManifestProbe,
  type Pack,
  type PatchEntry,
  type ReleaseFile,
  type ReleaseManifest,
  parseReleaseManifest,
} from './release.js';
export { checkPathSet, checkSlotPath, foldPath } from './paths.js';
export { checkPlatform, checkVersion, parseTime } from './fields.js';
export {
  type TrustState,
  type TrustedChannel,
  admitChannelDocument,
  newTrustState,
  parseTrustState,
  serializeTrustState,
} from './trust-state.js';
