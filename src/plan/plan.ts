/**
 * The planner: for every file of the target release, the cheapest way to get its
 * bytes into the inactive slot, in this order: keep (already there, costs nothing),
 * copy (same bytes in the active slot, costs no download), patch (a patch from a file
 * the active slot holds, when it is smaller than the file), fetch (the file's chunks
 * of the pack). Pure: it sees inventories (what each slot holds, by hash, according
 * to that slot's verified manifest) and the target manifest, and returns operations
 * as data. Every operation is verified again when executed; a failed keep, copy or
 * patch is planned again as a fetch.
 *
 * @module
 */
import type { PatchEntry, ReleaseFile, ReleaseManifest } from '../manifest/release.js';

/** What a slot holds: sha256 -> a path in that slot with those bytes. */
export type Inventory = ReadonlyMap<string, string>;

/** How one file of the target release reaches the inactive slot. */
export type PlanOp =
  /** The inactive slot already has these bytes at this path. */
  | { readonly kind: 'keep'; readonly file: ReleaseFile }
  /** The same bytes exist in the active slot at `source`. */
  | { readonly kind: 'copy'; readonly file: ReleaseFile; readonly source: string }
  /** Apply `patch` to the active slot's `source` (a file of `sourceSize` bytes). */
  | { readonly kind: 'patch'; readonly file: ReleaseFile; readonly source: string; readonly sourceSize: number; readonly patch: PatchEntry }
  /** Fetch the file's byte range of the pack. */
  | { readonly kind: 'fetch'; readonly file: ReleaseFile };

/**
 * The four ways a file reaches the slot, cheapest first: `keep` (already there),
 * `copy` (same bytes in the active slot), `patch` (a binary patch from a file the
 * active slot holds), `fetch` (its bytes of the pack).
 *
 * @useDeclaredType
 */
export type PlanKind = PlanOp['kind'];

export interface UpdatePlan {
  readonly ops: readonly PlanOp[];
  /** Pack chunk indexes to download, ascending. */
  readonly chunks: readonly number[];
  /** Patch blobs to download, each once (two files may share one). */
  readonly patches: readonly PatchEntry[];
  /** Bytes of the target tree per kind of operation. */
  readonly bytes: Readonly<Record<PlanKind, number>>;
  /** Bytes to download: whole pack chunks plus patch blobs. */
  readonly downloadBytes: number;
}

export interface PlanInput {
  readonly target: ReleaseManifest;
  /** What the inactive slot holds at each path (path -> sha256), or empty when it is unusable. */
  readonly inactiveFiles: ReadonlyMap<string, string>;
  /** What the active slot holds (sha256 -> path). */
  readonly active: Inventory;
  /** Files of the active slot patches may start from (sha256 -> file); none when absent. */
  readonly patchSources?: ReadonlyMap<string, ReleaseFile>;
  /** Paths whose keep, copy or patch already failed: fetch them. */
  readonly forceFetch?: ReadonlySet<string>;
}

export function planUpdate(input: PlanInput): UpdatePlan {
  const ops: PlanOp[] = [];
  const bytes: Record<PlanKind, number> = { keep: 0, copy: 0, patch: 0, fetch: 0 };
  const patchesTo = groupPatches(input.target.patches, input.patchSources);
  for (const file of input.target.files) {
    const forced = input.forceFetch?.has(file.path) ?? false;
    let op: PlanOp;
    const patch = forced ? undefined : smallestPatch(patchesTo.get(file.sha256), file.size);
    if (!forced && input.inactiveFiles.get(file.path) === file.sha256) op = { kind: 'keep', file };
    else if (!forced && input.active.has(file.sha256)) op = { kind: 'copy', file, source: input.active.get(file.sha256)! };
    else if (patch) {
      const from = input.patchSources!.get(patch.from)!;
      op = { kind: 'patch', file, source: from.path, sourceSize: from.size, patch };
    } else op = { kind: 'fetch', file };
    ops.push(op);
    bytes[op.kind] += file.size;
  }
  const chunks = chunksFor(
    ops.flatMap((op) => (op.kind === 'fetch' ? [op.file] : [])),
    input.target.pack.chunkSize,
  );
  const patches = [...new Map(ops.flatMap((op) => (op.kind === 'patch' ? [[op.patch.blob, op.patch] as const] : []))).values()];
  const { size, chunkSize } = input.target.pack;
  const chunkBytes = chunks.reduce((sum, i) => sum + Math.min(chunkSize, size - i * chunkSize), 0);
  const downloadBytes = chunkBytes + patches.reduce((sum, p) => sum + p.size, 0);
  return { ops, chunks, patches, bytes, downloadBytes };
}

/** Patches whose source we hold, by the hash of the file they make. */
function groupPatches(patches: readonly PatchEntry[], sources: ReadonlyMap<string, ReleaseFile> | undefined): Map<string, PatchEntry[]> {
  const out = new Map<string, PatchEntry[]>();
  if (!sources) return out;
  for (const p of patches) {
    if (!sources.has(p.from)) continue;
    const list = out.get(p.to) ?? [];
    list.push(p);
    out.set(p.to, list);
  }
  return out;
}

/** The smallest candidate, if it costs fewer bytes than fetching the file (ties go to the fetch: no work to apply). */
function smallestPatch(candidates: readonly PatchEntry[] | undefined, fileSize: number): PatchEntry | undefined {
  let best: PatchEntry | undefined;
  for (const p of candidates ?? []) if (p.size < fileSize && (!best || p.size < best.size)) best = p;
  return best;
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
