/**
 * The planner: for every file of the target release, the cheapest way to get its
 * bytes into the inactive slot. Pure: it sees inventories (what each slot holds, by
 * hash, according to that slot's verified manifest) and the target manifest, and
 * returns operations as data. Every operation is verified again when executed; a
 * failed keep or copy falls back to a fetch.
 *
 * @module
 */
import type { ReleaseFile, ReleaseManifest } from '../manifest/release.js';

/** What a slot holds: sha256 -> a path in that slot with those bytes. */
export type Inventory = ReadonlyMap<string, string>;

export type PlanOp =
  /** The inactive slot already has these bytes at this path. */
  | { readonly kind: 'keep'; readonly file: ReleaseFile }
  /** The same bytes exist in the active slot at `source`. */
  | { readonly kind: 'copy'; readonly file: ReleaseFile; readonly source: string }
  /** Fetch the file's byte range of the pack. */
  | { readonly kind: 'fetch'; readonly file: ReleaseFile };

export type PlanKind = PlanOp['kind'];

export interface UpdatePlan {
  readonly ops: readonly PlanOp[];
  /** Pack chunk indexes to download, ascending. */
  readonly chunks: readonly number[];
  /** Bytes of the target tree per kind of operation. */
  readonly bytes: Readonly<Record<PlanKind, number>>;
  /** Bytes to download (whole chunks). */
  readonly downloadBytes: number;
}

export interface PlanInput {
  readonly target: ReleaseManifest;
  /** What the inactive slot holds at each path (path -> sha256), or empty when it is unusable. */
  readonly inactiveFiles: ReadonlyMap<string, string>;
  /** What the active slot holds (sha256 -> path). */
  readonly active: Inventory;
  /** Paths whose keep or copy already failed verification: fetch them. */
  readonly forceFetch?: ReadonlySet<string>;
}

export function planUpdate(input: PlanInput): UpdatePlan {
  const ops: PlanOp[] = [];
  const bytes: Record<PlanKind, number> = { keep: 0, copy: 0, fetch: 0 };
  for (const file of input.target.files) {
    const forced = input.forceFetch?.has(file.path) ?? false;
    let op: PlanOp;
    if (!forced && input.inactiveFiles.get(file.path) === file.sha256) op = { kind: 'keep', file };
    else if (!forced && input.active.has(file.sha256)) op = { kind: 'copy', file, source: input.active.get(file.sha256)! };
    else op = { kind: 'fetch', file };
    ops.push(op);
    bytes[op.kind] += file.size;
  }
  const chunks = chunksFor(
    ops.flatMap((op) => (op.kind === 'fetch' ? [op.file] : [])),
    input.target.pack.chunkSize,
  );
  const { size, chunkSize } = input.target.pack;
  const downloadBytes = chunks.reduce((sum, i) => sum + Math.min(chunkSize, size - i * chunkSize), 0);
  return { ops, chunks, bytes, downloadBytes };
}

/** Indexes of the chunks that cover the byte ranges of `files`. */
export function chunksFor(files: readonly ReleaseFile[], chunkSize: number): number[] {
  const set = new Set<number>();
  for (const f of files) {
    if (f.size === 0) continue;
    const first = Math.floor(f.offset / chunkSize);
    const last = Math.floor((f.offset + f.size - 1) / chunkSize);
    for (let i = first; i <= last; i++) set.add(i);
  }
  return [...set].sort((x, y) => x - y);
}

/** An inventory (sha256 -> path) from a slot's manifest files. */
export function inventoryOf(files: readonly ReleaseFile[]): Inventory {
  const map = new Map<string, string>();
  for (const f of files) if (!map.has(f.sha256)) map.set(f.sha256, f.path);
  return map;
}
