/**
 * Hostile releases that are nevertheless signed by the feed's own key: a test takes a
 * published release manifest, edits what it says (paths, patches, target), signs it
 * again and points the channel at it. This is what a stolen signing key, or a publisher
 * bug, would serve; the client's checks must hold even then.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sealEnvelope } from '../../src/manifest/envelope.js';
import type { KeyPair } from '../../src/manifest/keys.js';
import { editChannel } from '../../src/publish/channel-doc.js';
import { releaseManifestPath } from '../../src/publish/release.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface TamperFeed {
  readonly feed: string;
  readonly key: KeyPair;
}

// The signed manifest is plain JSON; tests edit it freely.
export type SignedManifest = Record<string, any>;

/** The `signed` part of a published release manifest file. */
export async function readSigned(manifestPath: string): Promise<SignedManifest> {
  return (JSON.parse(await readFile(manifestPath, 'utf8')) as { signed: SignedManifest }).signed;
}

/**
 * Writes `signed` (after `edit`) as release `version`, signed with `keys` (default the
 * feed's key), and makes `channel` offer it. Returns the manifest file's bytes.
 */
export async function publishTampered(
  f: TamperFeed,
  base: SignedManifest,
  version: string,
  edit: (signed: SignedManifest) => void,
  o: { channel?: string; keys?: readonly KeyPair[]; platform?: string } = {},
): Promise<Buffer> {
  const signed = structuredClone(base);
  signed.version = version;
  edit(signed);
  const bytes = Buffer.from(sealEnvelope(signed, o.keys ?? [f.key]));
  const url = releaseManifestPath(version, o.platform ?? String(base.platform));
  await mkdir(dirname(join(f.feed, url)), { recursive: true });
  await writeFile(join(f.feed, url), bytes);
  await editChannel({ feedDir: f.feed, channel: o.channel ?? 'stable', keys: [f.key], app: String(base.app) }, (content) => {
    content.release = { version, platforms: { [o.platform ?? String(base.platform)]: { url, sha256: sha(bytes), size: bytes.length } } };
  });
  return bytes;
}

/** Stores `bytes` as a blob of the feed; returns its pins as a manifest states them. */
export async function putBlob(f: TamperFeed, bytes: Uint8Array, chunkSize = 64 * 1024): Promise<{ sha256: string; size: number; chunkSize: number; chunks: string[] }> {
  const sha256 = sha(bytes);
  await mkdir(join(f.feed, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(f.feed, 'blobs', 'sha256', sha256), bytes);
  const chunks: string[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(sha(bytes.subarray(at, at + chunkSize)));
  return { sha256, size: bytes.length, chunkSize, chunks };
}
