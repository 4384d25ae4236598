/**
 * delta/: twinslot's patch container, the streaming applier clients use (pure
 * TypeScript), and the encoder the publisher uses on top of bsdiff.
 * @module
 */
export { type PatchFiles, type PatchTarget, applyPatch, readPatchHeader } from './apply.js';
export { type ControlTriple, type DeltaLayout, type EncodeOptions, encodePatch, layoutStreams } from './encode.js';
export { MAX_SEGMENT_RAW, PATCH_MAGIC, PATCH_MAGIC_V2, type PatchHeader, parseHeader } from './format.js';
export { MemoryFile } from './memory-file.js';
