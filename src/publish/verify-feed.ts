/**
 * `twinslot verify`: checks a feed folder as a client would, end to end: every
 * channel document's signatures, every release manifest it or the releases folder
 * holds, and every blob's hash and chunk hashes. Reports every problem found.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isUpdateError } from '../errors.js';
import { parseChannelDocument } from '../manifest/channel.js';
import { DOCUMENT_LIMITS, type TrustedKeys, openEnvelope } from '../manifest/envelope.js';
import { type ReleaseManifest, parseReleaseManifest } from '../manifest/release.js';

/** What {@link verifyFeed} found. */
export interface FeedReport {
  /** True when no problem was found. */
  readonly ok: boolean;
  /** Every channel document that verified. */
  readonly channels: readonly {
    /** The channel name. */
    name: string;
    /** Its sequence. */
    sequence: number;
    /** The version it offers, or null. */
    version: string | null;
    /** Its expiry, ISO 8601 UTC. */
    expires: string;
  }[];
  /** Release manifests checked. */
  readonly releases: number;
  /** Blobs whose hashes were checked. */
  readonly blobs: number;
  /** One line per problem: the file, then what is wrong with it. */
  readonly problems: readonly string[];
}

/**
 * Checks a feed folder as a client would: every channel document's and release
 * manifest's signatures against `trust`, expiry, the hashes that pin each manifest, and
 * every blob's whole and per-chunk SHA-256. It reports problems instead of throwing on
 * the first one; `twinslot verify` prints them.
 *
 * @param feedDir - The feed folder.
 * @param trust - The public keys clients pin and how many must sign.
 * @param now - The time expiry is judged at, ms since the epoch.
 */
export async function verifyFeed(
  feedDir: string,
  trust: TrustedKeys,
  now = Date.now(),
  /** Bytes of blobs hashed so far, of all to hash: for a progress bar. */
  onProgress?: (done: number, total: number) => void,
): Promise<FeedReport> {
  const problems: string[] = [];
  const channels: { name: string; sequence: number; version: string | null; expires: string }[] = [];
  const manifests = new Map<string, ReleaseManifest>();
  const note = (where: string, err: unknown): void => {
    problems.push(`${where}: ${isUpdateError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`);
  };

  const pinned = new Map<string, string>();
  for (const file of await list(join(feedDir, 'channels'))) {
    if (!file.endsWith('.json')) continue;
    const where = `channels/${file}`;
    try {
      const opened = openEnvelope(await readFile(join(feedDir, 'channels', file)), trust, where, DOCUMENT_LIMITS.channel);
      const doc = parseChannelDocument(opened.signed);
      if (`${doc.channel}.json` !== file) problems.push(`${where}: names channel ${doc.channel}`);
      if (doc.expires <= now) problems.push(`${where}: expired at ${new Date(doc.expires).toISOString()}`);
      channels.push({ name: doc.channel, sequence: doc.sequence, version: doc.release?.version ?? null, expires: new Date(doc.expires).toISOString() });
      for (const pointer of Object.values(doc.release?.platforms ?? {})) pinned.set(pointer.url, pointer.sha256);
    } catch (err) {
      note(where, err);
    }
  }

  for (const version of await list(join(feedDir, 'releases'))) {
    for (const file of await list(join(feedDir, 'releases', version))) {
      if (!file.endsWith('.json')) continue;
      const rel = `releases/${version}/${file}`;
      try {
        const bytes = await readFile(join(feedDir, rel));
        const sha = createHash('sha256').update(bytes).digest('hex');
        if (pinned.has(rel) && pinned.get(rel) !== sha) problems.push(`${rel}: does not match the hash its channel pins`);
        const manifest = parseReleaseManifest(openEnvelope(bytes, trust, rel, DOCUMENT_LIMITS.release).signed);
        if (manifest.version !== version || `${manifest.platform}.json` !== file) problems.push(`${rel}: describes ${manifest.version} ${manifest.platform}`);
        manifests.set(rel, manifest);
      } catch (err) {
        note(rel, err);
      }
    }
  }
  for (const url of pinned.keys()) if (!manifests.has(url)) problems.push(`${url}: pinned by a channel but missing or invalid`);

  // Sizes first, so progress has a total; each blob is hashed once however many releases share it.
  const sizes = new Map<string, number>();
  for (const manifest of manifests.values()) {
    sizes.set(manifest.pack.sha256, manifest.pack.size);
    for (const patch of manifest.patches) sizes.set(patch.blob, patch.size);
  }
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  let hashed = 0;
  const progress = (n: number): void => {
    hashed += n;
    onProgress?.(hashed, total);
  };
  const checked = new Set<string>();
  for (const [rel, manifest] of manifests) {
    const { pack } = manifest;
    if (!checked.has(pack.sha256)) {
      checked.add(pack.sha256);
      const problem = await checkBlob(feedDir, pack.sha256, pack.size, pack.chunkSize, pack.chunks, progress);
      if (problem) problems.push(`${rel}: pack ${problem}`);
    }
    for (const patch of manifest.patches) {
      if (checked.has(patch.blob)) continue;
      checked.add(patch.blob);
      const problem = await checkBlob(feedDir, patch.blob, patch.size, patch.chunkSize, patch.chunks, progress);
      if (problem) problems.push(`${rel}: patch ${problem}`);
    }
  }
  return { ok: problems.length === 0, channels, releases: manifests.size, blobs: checked.size, problems };
}

async function checkBlob(
  feedDir: string,
  sha256: string,
  size: number,
  chunkSize: number,
  chunks: readonly string[],
  onBytes: (n: number) => void,
): Promise<string | null> {
  const path = join(feedDir, 'blobs', 'sha256', sha256);
  const whole = createHash('sha256');
  let chunk = createHash('sha256');
  let fill = 0;
  let index = 0;
  let total = 0;
  let badChunk = -1;
  try {
    for await (const piece of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      whole.update(piece);
      total += piece.length;
      onBytes(piece.length);
      if (chunkSize === 0) continue;
      let pos = 0;
      while (pos < piece.length) {
        const take = Math.min(piece.length - pos, chunkSize - fill);
        chunk.update(piece.subarray(pos, pos + take));
        fill += take;
        pos += take;
        if (fill === chunkSize) {
          if (chunk.digest('hex') !== chunks[index] && badChunk < 0) badChunk = index;
          index++;
          chunk = createHash('sha256');
          fill = 0;
        }
      }
    }
  } catch {
    return `blob ${sha256} is missing`;
  }
  if (fill > 0 && chunk.digest('hex') !== chunks[index] && badChunk < 0) badChunk = index;
  if (total !== size) return `blob ${sha256} is ${total} bytes, ${size} expected`;
  if (whole.digest('hex') !== sha256) return `blob ${sha256} does not match its name`;
  if (badChunk >= 0) return `blob ${sha256} chunk ${badChunk} does not match its hash`;
  return null;
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
