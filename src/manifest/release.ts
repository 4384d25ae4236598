/**
 * The release manifest (DESIGN.md §2): signed and immutable. It lists every file of
 * the app tree, the pack blob that carries them, the patches that can rebuild them
 * from earlier releases, and the release's own health probes.
 *
 * @module
 */
import { UpdateError } from '../errors.js';
import { FieldReader, invalidField } from './fields.js';
import { checkPathSet, checkSlotPath } from './paths.js';

export const RELEASE_TYPE = 'twinslot/release';

/** One file of the app tree. Its bytes sit at `offset` in the pack. */
export interface ReleaseFile {
  /** Path inside the slot, `/`-separated, relative, never escaping the slot. */
  readonly path: string;
  /** Size in bytes. */
  readonly size: number;
  /** Permission bits; only 0o644 and 0o755 are used. */
  readonly mode: number;
  /** SHA-256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
  /** Where the file starts in the pack (the files' sizes added up in list order). */
  readonly offset: number;
}

/** The pack blob: every file concatenated in list order, hashed whole and per chunk. */
export interface Pack {
  /** SHA-256 of the whole pack; also its name under `blobs/sha256/`. */
  readonly sha256: string;
  /** Size in bytes: the sum of the file sizes. */
  readonly size: number;
  /** Bytes per verified chunk (4 KiB to 64 MiB). */
  readonly chunkSize: number;
  /** SHA-256 of each `chunkSize` slice; the last may be shorter. */
  readonly chunks: readonly string[];
}

/**
 * A patch that turns the file with hash `from` into the file with hash `to`. Its blob
 * is hashed per chunk like a pack, so a patch download resumes and is verified as it
 * lands.
 */
export interface PatchEntry {
  /** SHA-256 of the file the patch applies to (a file of an earlier release). */
  readonly from: string;
  /** SHA-256 of the file it produces (a file of this release). */
  readonly to: string;
  /** SHA-256 of the patch blob. */
  readonly blob: string;
  /** Size of the patch blob in bytes. */
  readonly size: number;
  /** Bytes per verified chunk of the blob. */
  readonly chunkSize: number;
  /** SHA-256 of each `chunkSize` slice of the blob; the last may be shorter. */
  readonly chunks: readonly string[];
}

/** A health probe carried (and signed) by the release. */
export interface ManifestProbe {
  /** `pre-switch` runs against the staged slot, `post-start` in `confirmStartup()`. */
  readonly when: 'pre-switch' | 'post-start';
  /** Program and arguments, never passed to a shell. A program with a `/` is a file of the release. */
  readonly command: readonly string[];
  /** How long the program may run, in ms. */
  readonly timeoutMs: number;
}

/** A verified, parsed release manifest. */
export interface ReleaseManifest {
  /** The app id, e.g. `com.example.myapp`. */
  readonly app: string;
  /** The release's semver version. */
  readonly version: string;
  /** The `<os>-<arch>` it was built for, e.g. `linux-x64`. */
  readonly platform: string;
  /** The file the launcher executes, relative to the slot. */
  readonly entry: string;
  /** When the publisher made it, in ms since the epoch. */
  readonly created: number;
  /** Every file of the app tree, in pack order. */
  readonly files: readonly ReleaseFile[];
  /** The blob that holds every file. */
  readonly pack: Pack;
  /** Patches from files of earlier releases to files of this one. */
  readonly patches: readonly PatchEntry[];
  /** Probes that ship with the release (`--probe`, `--pre-probe`). */
  readonly probes: readonly ManifestProbe[];
}

export const RELEASE_LIMITS = {
  files: 200_000,
  patches: 200_000,
  probes: 16,
  minChunk: 4096,
  maxChunk: 64 * 1024 * 1024,
} as const;

/** Parses the verified `signed` value of a release manifest. */
export function parseReleaseManifest(signed: unknown): ReleaseManifest {
  const r = FieldReader.of(signed, 'release');
  const type = r.raw('_type');
  if (type !== RELEASE_TYPE) {
    throw new UpdateError('INVALID_MANIFEST', `expected a ${RELEASE_TYPE} document, got ${JSON.stringify(type)}`);
  }
  r.literal('spec', 1);
  const files = parseFiles(r);
  const pack = parsePack(r.object('pack'), files);
  const entry = checkSlotPath(r.string('entry'), 'release.entry');
  if (!files.some((f) => f.path === entry)) throw invalidField('release.entry', `names ${JSON.stringify(entry)}, which is not in the file list`);
  const fileHashes = new Set(files.map((f) => f.sha256));
  const patches = r.array('patches', RELEASE_LIMITS.patches).map((v, i) => {
    const p = FieldReader.of(v, `release.patches[${i}]`);
    const size = p.integer('size', 1);
    const { chunkSize, chunks } = parseChunks(p, size);
    const entryOut: PatchEntry = { from: p.sha256('from'), to: p.sha256('to'), blob: p.sha256('blob'), size, chunkSize, chunks };
    if (!fileHashes.has(entryOut.to)) throw invalidField(p.where, 'patches to a file that is not in the release');
    if (entryOut.from === entryOut.to) throw invalidField(p.where, 'patches a file into itself');
    return entryOut;
  });
  const probes = r.array('probes', RELEASE_LIMITS.probes).map((v, i) => parseProbe(FieldReader.of(v, `release.probes[${i}]`), files));
  return {
    app: r.id('app'),
    version: r.version('version'),
    platform: r.platform('platform'),
    entry,
    created: r.time('created'),
    files,
    pack,
    patches,
    probes,
  };
}

function parseFiles(r: FieldReader): ReleaseFile[] {
  let offset = 0;
  const files = r.array('files', RELEASE_LIMITS.files).map((v, i) => {
    const f = FieldReader.of(v, `release.files[${i}]`);
    const path = checkSlotPath(f.string('path'), f.where + '.path');
    const mode = f.integer('mode', 0, 0o777);
    if (mode !== 0o644 && mode !== 0o755) throw invalidField(`${f.where}.mode`, 'must be 420 (0644) or 493 (0755)');
    const file: ReleaseFile = { path, size: f.integer('size'), mode, sha256: f.sha256('sha256'), offset: f.integer('offset') };
    // The pack is exactly the files back to back, so an offset can never point elsewhere.
    if (file.offset !== offset) throw invalidField(`${f.where}.offset`, `must be ${offset} (files are packed back to back)`);
    offset += file.size;
    if (!Number.isSafeInteger(offset)) throw invalidField(`${f.where}.size`, 'makes the pack too large');
    return file;
  });
  checkPathSet(files.map((f) => f.path), 'release.files');
  return files;
}

function parsePack(p: FieldReader, files: readonly ReleaseFile[]): Pack {
  const size = p.integer('size');
  const expected = files.reduce((sum, f) => sum + f.size, 0);
  if (size !== expected) throw invalidField(`${p.where}.size`, `is ${size}, but the files add up to ${expected}`);
  const { chunkSize, chunks } = parseChunks(p, size);
  return { sha256: p.sha256('sha256'), size, chunkSize, chunks };
}

/** `chunkSize` and one SHA-256 per chunk of a blob of `size` bytes (packs and patches alike). */
function parseChunks(p: FieldReader, size: number): { chunkSize: number; chunks: string[] } {
  const chunkSize = p.integer('chunkSize', RELEASE_LIMITS.minChunk, RELEASE_LIMITS.maxChunk);
  const count = Math.ceil(size / chunkSize);
  const chunks = p.array('chunks', count).map((c, i) => {
    if (typeof c !== 'string' || !/^[0-9a-f]{64}$/.test(c)) throw invalidField(`${p.where}.chunks[${i}]`, 'is not 64 lowercase hex digits');
    return c;
  });
  if (chunks.length !== count) throw invalidField(`${p.where}.chunks`, `has ${chunks.length} entries, ${count} expected`);
  return { chunkSize, chunks };
}

function parseProbe(p: FieldReader, files: readonly ReleaseFile[]): ManifestProbe {
  const when = p.string('when', 16);
  if (when !== 'pre-switch' && when !== 'post-start') throw invalidField(`${p.where}.when`, 'must be "pre-switch" or "post-start"');
  const command = p.array('command', 64).map((arg, i) => {
    if (typeof arg !== 'string' || arg.length > 4096 || arg.includes('\0')) throw invalidField(`${p.where}.command[${i}]`, 'must be a string without NUL');
    return arg;
  });
  const program = command[0];
  if (program === undefined) throw invalidField(`${p.where}.command`, 'is empty');
  if (program.includes('/')) {
    checkSlotPath(program, `${p.where}.command[0]`);
    if (!files.some((f) => f.path === program)) throw invalidField(`${p.where}.command[0]`, 'names a file that is not in the release');
  } else if (!/^[A-Za-z0-9._+-]{1,64}$/.test(program)) {
    throw invalidField(`${p.where}.command[0]`, 'must be a file of the release or a plain program name');
  }
  return { when, command, timeoutMs: p.integer('timeoutMs', 1, 3_600_000) };
}
