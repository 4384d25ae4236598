/**
 * Where things live under an install root (DESIGN.md §3).
 *
 *     <root>/slots/a/, <root>/slots/b/   the two app trees
 *     <root>/slots/a.json, b.json        the signed release manifest of each tree, verbatim
 *     <root>/state                       the slot journal (the launcher reads only this)
 *     <root>/trust.json                  rollback / freeze protection, install id
 *     <root>/staging/                    resumable work of the update in progress
 *     <root>/twinslot.json               client configuration (feed, keys, app, channel, ring)
 *     <root>/.lock                       one updater per root
 *
 * @module
 */
import { join } from 'node:path';
import type { SlotName } from './state-file.js';

export interface RootLayout {
  readonly root: string;
  readonly slotsDir: string;
  readonly state: string;
  readonly trust: string;
  readonly staging: string;
  readonly config: string;
  readonly lock: string;
  slotDir(slot: SlotName): string;
  slotManifest(slot: SlotName): string;
}

export function rootLayout(root: string): RootLayout {
  const slotsDir = join(root, 'slots');
  return {
    root,
    slotsDir,
    state: join(root, 'state'),
    trust: join(root, 'trust.json'),
    staging: join(root, 'staging'),
    config: join(root, 'twinslot.json'),
    lock: join(root, '.lock'),
    slotDir: (slot) => join(slotsDir, slot),
    slotManifest: (slot) => join(slotsDir, `${slot}.json`),
  };
}
