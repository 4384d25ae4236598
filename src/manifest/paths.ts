/**
 * Rules for paths inside a slot. A manifest path is a relative POSIX path whose every
 * segment is an ordinary name on Linux, macOS and Windows alike, so a release that
 * installs on one installs on all and no name can escape its slot or alias another.
 *
 * @module
 */
import { UpdateError } from '../errors.js';

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
// CON, PRN, AUX, NUL, COM1-9, LPT1-9 (also with superscript digits), with any extension.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// Controls, and characters Windows refuses or treats as syntax.
const FORBIDDEN = /[\u0000-\u001f\u007f\\:*?"<>|]/;

/** Throws `UNSAFE_PATH` unless `path` is a safe relative path inside a slot. */
export function checkSlotPath(path: unknown, where = 'path'): string {
  if (typeof path !== 'string' || path.length === 0) throw unsafe(where, path, 'is empty or not a string');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw unsafe(where, path, `is longer than ${MAX_PATH_BYTES} bytes`);
  if (FORBIDDEN.test(path)) throw unsafe(where, path, 'contains a control character, a backslash or one of : * ? " < > |');
  if (path.startsWith('/')) throw unsafe(where, path, 'is absolute');
  if (path.normalize('NFC') !== path) throw unsafe(where, path, 'is not in Unicode NFC form');
  for (const segment of path.split('/')) {
    if (segment === '') throw unsafe(where, path, 'has an empty segment');
    if (segment === '.' || segment === '..') throw unsafe(where, path, `has a "${segment}" segment`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) throw unsafe(where, path, 'has a segment over 255 bytes');
    if (segment.endsWith('.') || segment.endsWith(' ')) throw unsafe(where, path, 'has a segment ending in a dot or space');
    if (RESERVED.test(segment)) throw unsafe(where, path, `uses the reserved Windows name "${segment}"`);
  }
  return path;
}

/**
 * Checks a whole file list: each path safe, and no two paths equal after case and
 * Unicode folding (they would be one file on macOS and Windows), and no file used as
 * a directory of another.
 */
export function checkPathSet(paths: readonly string[], where = 'files'): void {
  const folded = new Map<string, string>();
  for (const path of paths) {
    checkSlotPath(path, where);
    const key = foldPath(path);
    const other = folded.get(key);
    if (other !== undefined) {
      throw unsafe(where, path, other === path ? 'is listed twice' : `collides with ${JSON.stringify(other)} on case-insensitive file systems`);
    }
    folded.set(key, path);
  }
  for (const [key, path] of folded) {
    const segments = key.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      const file = folded.get(dir);
      if (file !== undefined) throw unsafe(where, path, `lies under ${JSON.stringify(file)}, which is a file`);
    }
  }
}

/** The form two paths share when one file system would treat them as the same name. */
export function foldPath(path: string): string {
  // NFKC folds compatibility forms; upper- then lower-casing folds ß to ss as APFS does.
  return path.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFC');
}

function unsafe(where: string, path: unknown, why: string): UpdateError {
  const shown = typeof path === 'string' ? JSON.stringify(path.length > 120 ? path.slice(0, 117) + '...' : path) : String(path);
  return new UpdateError('UNSAFE_PATH', `${where}: ${shown} ${why}`, { details: { path: typeof path === 'string' ? path : null } });
}
