// Reading the journal with and without the root lock, on real files in a temp dir.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../../src/io/file-system.js';
import { loadJournal, peekJournal, saveJournal } from '../../../src/slots/journal-store.js';
import { type RootLayout, rootLayout } from '../../../src/slots/layout.js';
import { formatJournal } from '../../../src/slots/state-file.js';
import { firstInstall } from '../../../src/slots/transitions.js';
import { Updater } from '../../../src/updater.js';

let dir: string;
let layout: RootLayout;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinslot-journal-'));
  layout = rootLayout(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const installed = firstInstall('a', '1.0.0', 'bin/app', 3);
const tmp = () => `${layout.state}.tmp`;
const exists = (path: string) => readFile(path).then(() => true, () => false);

describe('peekJournal (readers without the lock)', () => {
  it('reads state and leaves a save in progress alone, where loadJournal settles it', async () => {
    await saveJournal(nodeFileSystem, layout, installed);
    // Another process is half-way through its save: state.tmp holds part of the next journal.
    const next = formatJournal({ ...installed, bad: ['0.9.0'] });
    await writeFile(tmp(), next.slice(0, 20));
    expect(await peekJournal(nodeFileSystem, layout)).toEqual(installed);
    expect(await readFile(tmp(), 'utf8')).toBe(next.slice(0, 20));
    // status() is such a reader.
    expect(await new Updater({ installRoot: dir }).status()).toMatchObject({ installed: true, activeVersion: '1.0.0' });
    expect(await exists(tmp())).toBe(true);
    // The locked path (after a crash, nobody else writes) settles the leftover.
    expect(await loadJournal(nodeFileSystem, layout)).toEqual(installed);
    expect(await exists(tmp())).toBe(false);
  });

  it('shows a complete leftover without state (a first install cut short) without renaming it, and nothing for a partial one', async () => {
    await writeFile(tmp(), formatJournal(installed));
    expect(await peekJournal(nodeFileSystem, layout)).toEqual(installed);
    expect(await exists(layout.state)).toBe(false);
    await writeFile(tmp(), formatJournal(installed).slice(0, 30));
    expect(await peekJournal(nodeFileSystem, layout)).toBeNull();
    expect(await exists(tmp())).toBe(true);
    await rm(tmp());
    expect(await peekJournal(nodeFileSystem, layout)).toBeNull();
  });
});
