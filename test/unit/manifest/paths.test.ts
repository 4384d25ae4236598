import { describe, expect, it } from 'vitest';
import { checkPathSet, checkSlotPath, foldPath } from '../../../src/manifest/paths.js';
import { expectCode } from '../expect-code.js';

describe('checkSlotPath', () => {
  it.each([
    'app',
    'bin/app',
    'lib/node_modules/pkg/index.js',
    '.hidden/config',
    'a..b/c',
    'résumé.txt',
    'données/日本語.txt',
    'console.log',
    'CONFIG',
    'com10',
    'auxiliary.txt',
    'a'.repeat(255),
  ])('accepts %s', (path) => {
    expect(checkSlotPath(path)).toBe(path);
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['"..": escapes the slot', '../etc/passwd'],
    ['".." in the middle', 'bin/../../x'],
    ['a "." segment', './bin/app'],
    ['absolute', '/etc/passwd'],
    ['a backslash', 'bin\\app'],
    ['a Windows traversal', '..\\..\\x'],
    ['NUL', 'bin/app\0.txt'],
    ['a newline', 'bin/a\nb'],
    ['DEL', 'bin/a\u007fb'],
    ['a drive-relative name', 'C:x'],
    ['a drive path', 'C:/Windows'],
    ['an NTFS stream', 'file.txt:stream'],
    ['a wildcard', 'a*b'],
    ['a pipe', 'a|b'],
    ['CON', 'CON'],
    ['con in a subfolder', 'dir/con'],
    ['aux.txt', 'aux.txt'],
    ['NUL.tar.gz', 'NUL.tar.gz'],
    ['COM1', 'com1'],
    ['LPT9', 'LPT9.log'],
    ['COM¹ (superscript)', 'COM¹'],
    ['a trailing dot', 'bin/app.'],
    ['a trailing space', 'bin/app '],
    ['a trailing dot in a folder', 'lib./x'],
    ['"..."', '...'],
    ['an empty segment', 'bin//app'],
    ['a trailing slash', 'bin/'],
    ['non-NFC (e + combining acute)', 'cafe\u0301.txt'],
    ['a segment over 255 bytes', 'a'.repeat(256)],
    ['a segment over 255 bytes in UTF-8', 'é'.repeat(128)],
    ['a path over 4096 bytes', Array.from({ length: 20 }, () => 'a'.repeat(250)).join('/')],
  ])('refuses %s with UNSAFE_PATH', (_name, path) => {
    const err = expectCode(() => checkSlotPath(path), 'UNSAFE_PATH');
    expect(err.details).toEqual({ path: typeof path === 'string' ? path : null });
  });

  it('names where the path came from', () => {
    const err = expectCode(() => checkSlotPath('../x', 'release.entry'), 'UNSAFE_PATH');
    expect(err.message).toContain('release.entry');
  });
});

describe('checkPathSet', () => {
  it('accepts an ordinary tree', () => {
    expect(() => checkPathSet(['bin/app', 'lib/a.js', 'lib/b.js', 'lib/sub/c.js', 'README.md', 'readme-extra.md'])).not.toThrow();
  });

  it.each([
    ['a path listed twice', ['bin/app', 'bin/app']],
    ['a case collision', ['README', 'readme']],
    ['a case collision in a folder name', ['Lib/a.js', 'lib/b.js', 'lib/a.js']],
    ['ß vs ss', ['straße.txt', 'strasse.txt']],
    ['ß vs SS', ['STRASSE', 'straße']],
    ['a compatibility form (ﬁ ligature)', ['ﬁle', 'file']],
    ['a fullwidth name', ['ａｐｐ', 'app']],
    ['the Kelvin sign', ['\u212a', 'k']],
    ['a file used as a directory', ['bin', 'bin/app']],
    ['a file used as a directory, listed after', ['lib/x/y.js', 'lib/x']],
    ['a file used as a directory, other case', ['BIN', 'bin/app']],
    ['an unsafe member', ['bin/app', '../x']],
  ])('refuses %s with UNSAFE_PATH', (_name, paths) => {
    expectCode(() => checkPathSet(paths), 'UNSAFE_PATH');
  });
});

describe('foldPath', () => {
  it('folds case, ß and compatibility forms to one key', () => {
    expect(foldPath('Straße/README')).toBe(foldPath('STRASSE/readme'));
    expect(foldPath('ﬁle')).toBe('file');
    expect(foldPath('a/b')).not.toBe(foldPath('a/c'));
  });
});
