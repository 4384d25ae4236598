import { describe, expect, it } from 'vitest';
import { RELEASE_TYPE, parseReleaseManifest } from '../../../src/manifest/release.js';
import { expectCode } from '../expect-code.js';

const CHUNK = 4096;
const hex = (n: number): string => n.toString(16).padStart(64, '0');

type Doc = Record<string, unknown> & { files: Record<string, unknown>[]; pack: Record<string, unknown>; probes: Record<string, unknown>[] };

/** A valid release manifest of `files` (path, size), packed back to back in 4 KiB chunks. */
function releaseDoc(files: [string, number][] = [['bin/app', 5000], ['lib/core.js', 3000], ['README.md', 0]]): Doc {
  let offset = 0;
  const list = files.map(([path, size], i) => {
    const file = { path, size, mode: path.startsWith('bin/') ? 0o755 : 0o644, sha256: hex(i + 1), offset };
    offset += size;
    return file;
  });
  return {
    _type: RELEASE_TYPE,
    spec: 1,
    app: 'com.example.app',
    version: '2.0.0',
    platform: 'linux-x64',
    entry: files[0]?.[0] ?? 'bin/app',
    created: '2026-01-02T03:04:05Z',
    files: list,
    pack: { sha256: hex(999), size: offset, chunkSize: CHUNK, chunks: Array.from({ length: Math.ceil(offset / CHUNK) }, (_, i) => hex(500 + i)) },
    patches: [{ from: hex(77), to: hex(1), blob: hex(78), size: 100, chunkSize: 4096, chunks: [hex(79)] }],
    probes: [{ when: 'post-start', command: ['bin/app', '--self-test'], timeoutMs: 5000 }],
  };
}

function edit(change: (doc: Doc) => void): Doc {
  const doc = releaseDoc();
  change(doc);
  return doc;
}

describe('parseReleaseManifest', () => {
  it('parses a valid manifest', () => {
    const m = parseReleaseManifest(releaseDoc());
    expect(m.app).toBe('com.example.app');
    expect(m.version).toBe('2.0.0');
    expect(m.platform).toBe('linux-x64');
    expect(m.entry).toBe('bin/app');
    expect(m.created).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(m.files.map((f) => [f.path, f.offset, f.size, f.mode])).toEqual([
      ['bin/app', 0, 5000, 0o755],
      ['lib/core.js', 5000, 3000, 0o644],
      ['README.md', 8000, 0, 0o644],
    ]);
    expect(m.pack).toMatchObject({ size: 8000, chunkSize: CHUNK });
    expect(m.pack.chunks).toHaveLength(2);
    expect(m.patches).toEqual([{ from: hex(77), to: hex(1), blob: hex(78), size: 100, chunkSize: 4096, chunks: [hex(79)] }]);
    expect(m.probes).toEqual([{ when: 'post-start', command: ['bin/app', '--self-test'], timeoutMs: 5000 }]);
  });

  it('refuses an empty file list: the entry cannot be in it', () => {
    const doc = releaseDoc([]);
    expect(doc.pack).toMatchObject({ size: 0, chunks: [] });
    expectCode(() => parseReleaseManifest(doc), 'INVALID_MANIFEST');
  });

  it('accepts a probe that runs a plain program name', () => {
    const m = parseReleaseManifest(edit((d) => (d.probes = [{ when: 'pre-switch', command: ['node', 'bin/app'], timeoutMs: 1 }])));
    expect(m.probes[0]?.command).toEqual(['node', 'bin/app']);
  });

  it.each([
    ['an unknown _type', (d: Doc) => (d._type = 'twinslot/channel')],
    ['a missing _type', (d: Doc) => delete d._type],
    ['an unknown spec', (d: Doc) => (d.spec = 2)],
    ['a missing version', (d: Doc) => delete d.version],
    ['a non-semver version', (d: Doc) => (d.version = '2.0')],
    ['a numeric app', (d: Doc) => (d.app = 1)],
    ['a bad platform', (d: Doc) => (d.platform = 'linux')],
    ['created "never"', (d: Doc) => (d.created = 'never')],
    ['created without Z', (d: Doc) => (d.created = '2026-01-02T03:04:05')],
    ['created on 2026-02-31', (d: Doc) => (d.created = '2026-02-31T00:00:00Z')],
    ['files not an array', (d: Doc) => (d.files = {} as never)],
    ['a file mode of 0777', (d: Doc) => (d.files[0]!.mode = 0o777)],
    ['a string file size', (d: Doc) => (d.files[1]!.size = '3000')],
    ['a negative file size', (d: Doc) => (d.files[2]!.size = -1)],
    ['an uppercase file hash', (d: Doc) => (d.files[0]!.sha256 = 'A'.repeat(64))],
    ['a file without sha256', (d: Doc) => delete d.files[0]!.sha256],
    ['an offset with a gap', (d: Doc) => (d.files[1]!.offset = 5001)],
    ['an overlapping offset', (d: Doc) => (d.files[1]!.offset = 0)],
    ['a first offset that is not 0', (d: Doc) => (d.files[0]!.offset = 1)],
    ['a pack size that differs from the files', (d: Doc) => (d.pack.size = 8001)],
    ['too few chunks', (d: Doc) => (d.pack.chunks = [hex(1)])],
    ['too many chunks', (d: Doc) => (d.pack.chunks = [hex(1), hex(2), hex(3)])],
    ['a malformed chunk hash', (d: Doc) => (d.pack.chunks = [hex(1), 'x'])],
    ['a chunk size below 4096', (d: Doc) => (d.pack.chunkSize = 1024)],
    ['a missing pack hash', (d: Doc) => delete d.pack.sha256],
    ['an entry not in the file list', (d: Doc) => (d.entry = 'bin/other')],
    ['a patch to a file not in the release', (d: Doc) => ((d.patches as Record<string, unknown>[])[0]!.to = hex(404))],
    ['a patch of size 0', (d: Doc) => ((d.patches as Record<string, unknown>[])[0]!.size = 0)],
    ['a patch without chunk hashes', (d: Doc) => delete (d.patches as Record<string, unknown>[])[0]!.chunks],
    ['a patch with one chunk hash too many', (d: Doc) => ((d.patches as Record<string, unknown>[])[0]!.chunks = [hex(79), hex(80)])],
    ['a patch whose chunk size is below the minimum', (d: Doc) => ((d.patches as Record<string, unknown>[])[0]!.chunkSize = 100)],
    ['a patch from a file into itself', (d: Doc) => ((d.patches as Record<string, unknown>[])[0]!.from = hex(1))],
    ['a probe with an unknown when', (d: Doc) => (d.probes[0]!.when = 'always')],
    ['a probe with an empty command', (d: Doc) => (d.probes[0]!.command = [])],
    ['a probe command that is a string', (d: Doc) => (d.probes[0]!.command = 'bin/app --self-test')],
    ['a probe running a shell line', (d: Doc) => (d.probes[0]!.command = ['sh -c reboot'])],
    ['a probe program with shell characters', (d: Doc) => (d.probes[0]!.command = ['app;reboot'])],
    ['a probe file not in the release', (d: Doc) => (d.probes[0]!.command = ['bin/missing'])],
    ['a probe argument with NUL', (d: Doc) => (d.probes[0]!.command = ['bin/app', 'a\0b'])],
    ['a probe argument that is a number', (d: Doc) => (d.probes[0]!.command = ['bin/app', 1])],
    ['a probe timeout of 0', (d: Doc) => (d.probes[0]!.timeoutMs = 0)],
    ['a probe timeout over an hour', (d: Doc) => (d.probes[0]!.timeoutMs = 3_600_001)],
    ['too many probes', (d: Doc) => (d.probes = Array.from({ length: 17 }, () => d.probes[0]!))],
  ])('refuses %s with INVALID_MANIFEST', (_name, change) => {
    expectCode(() => parseReleaseManifest(edit(change)), 'INVALID_MANIFEST');
  });

  it.each([
    ['a file path with ..', (d: Doc) => (d.files[1]!.path = '../evil.js')],
    ['an absolute file path', (d: Doc) => (d.files[1]!.path = '/etc/passwd')],
    ['a file path with a backslash', (d: Doc) => (d.files[1]!.path = 'lib\\core.js')],
    ['two files differing only in case', (d: Doc) => (d.files[2]!.path = 'LIB/core.js')],
    ['a file used as a directory', (d: Doc) => (d.files[2]!.path = 'bin/app/x')],
    ['an entry with ..', (d: Doc) => (d.entry = 'bin/../bin/app')],
    ['a probe program with ..', (d: Doc) => (d.probes[0]!.command = ['../bin/app'])],
    ['a probe program that is absolute', (d: Doc) => (d.probes[0]!.command = ['/bin/sh'])],
    ['a probe shell line with a path', (d: Doc) => (d.probes[0]!.command = ['sh -c "rm -rf /"'])],
  ])('refuses %s with UNSAFE_PATH', (_name, change) => {
    expectCode(() => parseReleaseManifest(edit(change)), 'UNSAFE_PATH');
  });

  it('computes the chunk count from the pack size, the last chunk being partial', () => {
    // 4096 + 1 bytes need exactly two chunks.
    const doc = releaseDoc([['bin/app', CHUNK + 1]]);
    expect(parseReleaseManifest(doc).pack.chunks).toHaveLength(2);
    const exact = releaseDoc([['bin/app', CHUNK * 2]]);
    expect(parseReleaseManifest(exact).pack.chunks).toHaveLength(2);
  });
});
