/**
 * io/: the injectable boundaries (file system, clock, randomness).
 * @module
 */
export { type DirEntryLike, type FileLike, type FileSystem, type StatLike, OPEN, isErrno, nodeFileSystem } from './file-system.js';
export { type Clock, type RandomSource, systemClock, systemRandom } from './clock.js';
