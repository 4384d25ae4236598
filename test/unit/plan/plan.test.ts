import { describe, expect, it } from 'vitest';
import type { ReleaseFile, ReleaseManifest } from '../../../src/manifest/release.js';
import { type UpdatePlan, chunksFor, inventoryOf, planUpdate } from '../../../src/plan/plan.js';

const CHUNK = 100;
const hash = (name: string): string => Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64);

/** A manifest of `files` (path, size, content name), packed back to back in 100-byte chunks. */
function manifest(files: [string, number, string][]): ReleaseManifest {
  let offset = 0;
  const list: ReleaseFile[] = files.map(([path, size, content]) => {
    const f = { path, size, mode: 0o644, sha256: hash(content), offset };
    offset += size;
    return f;
  });
  return {
    app: 'com.example.app',
    version: '2.0.0',
    platform: 'linux-x64',
    entry: list[0]?.path ?? 'app',
    created: 0,
    files: list,
    pack: { sha256: hash('pack'), size: offset, chunkSize: CHUNK, chunks: Array.from({ length: Math.ceil(offset / CHUNK) }, (_, i) => hash(`c${i}`)) },
    patches: [],
    probes: [],
  };
}

// 0..149 app | 150..179 lib | 180..399 data | 400..409 readme | 410 empty
const TARGET = manifest([
  ['bin/app', 150, 'app-v2'],
  ['lib/a.js', 30, 'lib-a'],
  ['data/big.bin', 220, 'big-v2'],
  ['README', 10, 'readme'],
  ['empty', 0, 'empty'],
]);

const kinds = (plan: UpdatePlan): Record<string, string> => Object.fromEntries(plan.ops.map((op) => [op.file.path, op.kind]));

/** Every byte of every fetched file lies in a planned chunk, and every planned chunk holds a fetched byte. */
function expectChunksCover(plan: UpdatePlan): void {
  const fetched = plan.ops.filter((op) => op.kind === 'fetch').map((op) => op.file);
  const planned = new Set(plan.chunks);
  const needed = new Set<number>();
  for (const f of fetched) for (let b = f.offset; b < f.offset + f.size; b++) needed.add(Math.floor(b / CHUNK));
  expect([...planned].sort((x, y) => x - y)).toEqual([...needed].sort((x, y) => x - y));
  expect(plan.chunks).toEqual([...plan.chunks].sort((x, y) => x - y));
  expect(new Set(plan.chunks).size).toBe(plan.chunks.length);
}

describe('planUpdate', () => {
  it('fetches everything into an empty slot with nothing to copy from', () => {
    const plan = planUpdate({ target: TARGET, inactiveFiles: new Map(), active: new Map() });
    expect(plan.ops.every((op) => op.kind === 'fetch')).toBe(true);
    expect(plan.ops.map((op) => op.file.path)).toEqual(TARGET.files.map((f) => f.path));
    expect(plan.chunks).toEqual([0, 1, 2, 3, 4]);
    expect(plan.bytes).toEqual({ keep: 0, copy: 0, patch: 0, fetch: 410 });
    expect(plan.downloadBytes).toBe(410); // the last chunk is 10 bytes, not 100
    expectChunksCover(plan);
  });

  it('keeps files the inactive slot already holds at the same path', () => {
    const inactive = new Map([['bin/app', hash('app-v2')], ['README', hash('readme')]]);
    const plan = planUpdate({ target: TARGET, inactiveFiles: inactive, active: new Map() });
    expect(kinds(plan)).toMatchObject({ 'bin/app': 'keep', README: 'keep', 'lib/a.js': 'fetch', 'data/big.bin': 'fetch' });
    expect(plan.bytes.keep).toBe(160);
    expectChunksCover(plan);
  });

  it('does not keep a file whose bytes differ or that sits at another path', () => {
    const inactive = new Map([['bin/app', hash('app-v1')], ['old/readme', hash('readme')]]);
    const plan = planUpdate({ target: TARGET, inactiveFiles: inactive, active: new Map() });
    expect(kinds(plan)).toMatchObject({ 'bin/app': 'fetch', README: 'fetch' });
  });

  it('copies files whose bytes exist in the active slot, from where they are', () => {
    const active = inventoryOf(manifest([['lib/renamed.js', 30, 'lib-a'], ['bin/app', 140, 'app-v1']]).files);
    const plan = planUpdate({ target: TARGET, inactiveFiles: new Map(), active });
    const copy = plan.ops.find((op) => op.file.path === 'lib/a.js');
    expect(copy).toMatchObject({ kind: 'copy', source: 'lib/renamed.js' });
    expect(kinds(plan)['bin/app']).toBe('fetch');
    expect(plan.bytes).toEqual({ keep: 0, copy: 30, patch: 0, fetch: 380 });
    expectChunksCover(plan);
  });

  it('prefers keep over copy', () => {
    const plan = planUpdate({
      target: TARGET,
      inactiveFiles: new Map([['README', hash('readme')]]),
      active: new Map([[hash('readme'), 'README']]),
    });
    expect(kinds(plan).README).toBe('keep');
  });

  it('fetches paths in forceFetch even when they could be kept or copied', () => {
    const inactive = new Map([['bin/app', hash('app-v2')]]);
    const active = new Map([[hash('lib-a'), 'lib/a.js'], [hash('big-v2'), 'data/big.bin']]);
    const plan = planUpdate({ target: TARGET, inactiveFiles: inactive, active, forceFetch: new Set(['bin/app', 'lib/a.js']) });
    expect(kinds(plan)).toMatchObject({ 'bin/app': 'fetch', 'lib/a.js': 'fetch', 'data/big.bin': 'copy' });
    expectChunksCover(plan);
  });

  it('downloads only the chunks of the fetched files', () => {
    // Only lib/a.js (150..179) is missing: chunk 1 alone.
    const have = new Map(TARGET.files.filter((f) => f.path !== 'lib/a.js').map((f) => [f.path, f.sha256]));
    const plan = planUpdate({ target: TARGET, inactiveFiles: have, active: new Map() });
    expect(plan.chunks).toEqual([1]);
    expect(plan.downloadBytes).toBe(CHUNK);
    expect(plan.bytes.fetch).toBe(30);
    expectChunksCover(plan);
  });

  it('downloads nothing when everything is kept or copied, or only empty files are fetched', () => {
    const have = new Map(TARGET.files.filter((f) => f.path !== 'empty').map((f) => [f.path, f.sha256]));
    const plan = planUpdate({ target: TARGET, inactiveFiles: have, active: new Map() });
    expect(kinds(plan).empty).toBe('fetch');
    expect(plan.chunks).toEqual([]);
    expect(plan.downloadBytes).toBe(0);
  });

  it('counts a short last chunk by its real size', () => {
    const have = new Map(TARGET.files.filter((f) => f.path !== 'README').map((f) => [f.path, f.sha256]));
    const plan = planUpdate({ target: TARGET, inactiveFiles: have, active: new Map() });
    expect(plan.chunks).toEqual([4]);
    expect(plan.downloadBytes).toBe(10);
  });
});

describe('chunksFor', () => {
  const file = (offset: number, size: number): ReleaseFile => ({ path: 'f', size, mode: 0o644, sha256: hash('f'), offset });

  it('covers exactly the chunks a byte range touches', () => {
    expect(chunksFor([file(0, 100)], CHUNK)).toEqual([0]);
    expect(chunksFor([file(0, 101)], CHUNK)).toEqual([0, 1]);
    expect(chunksFor([file(99, 2)], CHUNK)).toEqual([0, 1]);
    expect(chunksFor([file(100, 100)], CHUNK)).toEqual([1]);
    expect(chunksFor([file(250, 300)], CHUNK)).toEqual([2, 3, 4, 5]);
    expect(chunksFor([file(50, 0)], CHUNK)).toEqual([]);
  });

  it('merges shared chunks and sorts them', () => {
    expect(chunksFor([file(450, 10), file(0, 10), file(5, 10)], CHUNK)).toEqual([0, 4]);
  });
});

describe('inventoryOf', () => {
  it('maps each hash to the first path holding it', () => {
    const inv = inventoryOf(manifest([['a', 1, 'x'], ['b', 1, 'x'], ['c', 1, 'y']]).files);
    expect(inv.get(hash('x'))).toBe('a');
    expect(inv.get(hash('y'))).toBe('c');
    expect(inv.size).toBe(2);
  });
});

describe('planUpdate with patches', () => {
  const patch = (from: string, to: string, size: number, blob = `${from}>${to}`): ReleaseManifest['patches'][number] => ({
    from: hash(from),
    to: hash(to),
    blob: hash(blob),
    size,
    chunkSize: 4096,
    chunks: [hash(`${blob}:0`)],
  });
  const withPatches = (patches: ReleaseManifest['patches']): ReleaseManifest => ({ ...TARGET, patches });
  const sourceFile = (path: string, content: string, size: number): ReleaseFile => ({ path, size, mode: 0o644, sha256: hash(content), offset: 0 });
  const sources = (...files: ReleaseFile[]): Map<string, ReleaseFile> => new Map(files.map((f) => [f.sha256, f]));

  it('patches a changed file from the file the active slot holds, and downloads only the patch for it', () => {
    const plan = planUpdate({
      target: withPatches([patch('big-v1', 'big-v2', 40)]),
      inactiveFiles: new Map(),
      active: new Map(),
      patchSources: sources(sourceFile('data/big.bin', 'big-v1', 200)),
    });
    expect(kinds(plan)['data/big.bin']).toBe('patch');
    const op = plan.ops.find((o) => o.file.path === 'data/big.bin')!;
    expect(op).toMatchObject({ kind: 'patch', source: 'data/big.bin', sourceSize: 200 });
    expect(plan.patches.map((p) => p.size)).toEqual([40]);
    expect(plan.bytes).toEqual({ keep: 0, copy: 0, patch: 220, fetch: 190 });
    // Chunks 1..3 hold only big.bin's bytes (180..399): none of them is fetched.
    expect(plan.chunks).toEqual([0, 1, 4]);
    expect(plan.downloadBytes).toBe(100 + 100 + 10 + 40);
  });

  it('picks the smallest patch among sources it holds, and ignores patches from files it does not hold', () => {
    const plan = planUpdate({
      target: withPatches([patch('big-v1', 'big-v2', 90), patch('big-v0', 'big-v2', 30), patch('big-vX', 'big-v2', 5)]),
      inactiveFiles: new Map(),
      active: new Map(),
      patchSources: sources(sourceFile('data/big.bin', 'big-v1', 200), sourceFile('old/big.bin', 'big-v0', 180)),
    });
    const op = plan.ops.find((o) => o.file.path === 'data/big.bin')!;
    expect(op).toMatchObject({ kind: 'patch', source: 'old/big.bin', sourceSize: 180, patch: { size: 30 } });
  });

  it('prefers keep and copy to a patch, and a fetch to a patch no smaller than the file', () => {
    const plan = planUpdate({
      target: withPatches([patch('lib-old', 'lib-a', 30), patch('app-v1', 'app-v2', 10), patch('big-v1', 'big-v2', 220)]),
      inactiveFiles: new Map([['bin/app', hash('app-v2')]]),
      active: new Map([[hash('lib-a'), 'lib/a.js']]),
      patchSources: sources(sourceFile('lib/a.js', 'lib-old', 30), sourceFile('bin/app', 'app-v1', 150), sourceFile('data/big.bin', 'big-v1', 200)),
    });
    expect(kinds(plan)).toMatchObject({ 'bin/app': 'keep', 'lib/a.js': 'copy', 'data/big.bin': 'fetch' });
    expect(plan.patches).toEqual([]);
  });

  it('fetches a file whose patch failed (forceFetch), and lists a blob shared by two files once', () => {
    const target = manifest([
      ['a.bin', 100, 'same-v2'],
      ['b.bin', 100, 'same-v2'],
      ['c.bin', 100, 'c-v2'],
    ]);
    const shared = patch('same-v1', 'same-v2', 10);
    const input = {
      target: { ...target, patches: [shared, patch('c-v1', 'c-v2', 20)] },
      inactiveFiles: new Map<string, string>(),
      active: new Map<string, string>(),
      patchSources: sources(sourceFile('a.bin', 'same-v1', 100), sourceFile('c.bin', 'c-v1', 100)),
    };
    const first = planUpdate(input);
    expect(first.ops.map((o) => o.kind)).toEqual(['patch', 'patch', 'patch']);
    expect(first.patches.map((p) => p.size)).toEqual([10, 20]);
    const after = planUpdate({ ...input, forceFetch: new Set(['c.bin']) });
    expect(after.ops.map((o) => o.kind)).toEqual(['patch', 'patch', 'fetch']);
    expect(after.chunks).toEqual([2]);
    expect(after.downloadBytes).toBe(10 + 100);
  });
});
