/**
 * `twinslot rotate-keys`: publishes root key document N+1, naming the keys that sign
 * from now on. It must be signed by a threshold of the current root's keys (root 1:
 * the keys apps pin) and by a threshold of the new keys; this signs with every key
 * given of both sets. Channel documents written afterwards carry `root: N+1` and must
 * be signed with the new keys.
 *
 * With k-of-n keys, losing one key strands nothing: any k of the old keys can sign the
 * rotation that replaces the lost one.
 *
 * @module
 */
import { join } from 'node:path';
import { UpdateError } from '../errors.js';
import { canonicalJson } from '../manifest/canonical-json.js';
import { sealEnvelope, verifyThreshold } from '../manifest/envelope.js';
import type { KeyPair } from '../manifest/keys.js';
import { ROOT_TYPE, parseRootDocument, rootPath } from '../manifest/root.js';
import { newestRootVersion, writeFileReplacing } from './channel-doc.js';

/** Options of {@link rotateKeys} (the `twinslot rotate-keys` flags). */
export interface RotateKeysOptions {
  /** The feed folder; the new document is `keys/root.<N+1>.json`. */
  readonly feedDir: string;
  /** The app id. */
  readonly app: string;
  /** Keys of the current root that sign the rotation (at least its threshold of them). */
  readonly currentKeys: readonly KeyPair[];
  /** The keys that sign from now on; they sign the rotation too. */
  readonly newKeys: readonly KeyPair[];
  /** Signatures the new keys must provide on each document (default: 1). */
  readonly threshold?: number | undefined;
}

/** The root key document {@link rotateKeys} wrote. */
export interface RotateKeysResult {
  /** Its version N (root 1 is the set of keys apps pin in code). */
  readonly version: number;
  /** Its file. */
  readonly path: string;
}

/**
 * Publishes the next root key document: the new keys and threshold, signed by every
 * current and new key given. Sign channel documents with the new keys from then on;
 * clients follow the chain from the keys they pin.
 */
export async function rotateKeys(o: RotateKeysOptions): Promise<RotateKeysResult> {
  if (o.currentKeys.length === 0 || o.newKeys.length === 0) throw new UpdateError('INVALID_OPTIONS', 'rotate-keys needs the current signing keys and the new ones');
  const version = (await newestRootVersion(o.feedDir)) + 1;
  const keys = [...new Set(o.newKeys.map((k) => k.publicKey.text))];
  const threshold = o.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keys.length) {
    throw new UpdateError('INVALID_OPTIONS', `threshold must be from 1 to ${keys.length} (the number of new keys)`);
  }
  const signed = { _type: ROOT_TYPE, spec: 1, app: o.app, version, keys, threshold };
  parseRootDocument(signed); // never publish what clients would refuse
  const signers = new Map<string, KeyPair>();
  for (const k of [...o.currentKeys, ...o.newKeys]) signers.set(k.publicKey.keyid, k);
  const bytes = sealEnvelope(signed, [...signers.values()]);
  // The new keys' own threshold is checked here; the old root's is for the clients (the publisher may not know it).
  const envelope = JSON.parse(Buffer.from(bytes).toString('utf8')) as { signatures: unknown };
  verifyThreshold(Buffer.from(canonicalJson(signed), 'utf8'), envelope.signatures, { keys: o.newKeys.map((k) => k.publicKey), threshold }, `root key document ${version}`);
  const path = join(o.feedDir, rootPath(version));
  await writeFileReplacing(path, bytes);
  return { version, path };
}
