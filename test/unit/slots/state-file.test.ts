import { describe, expect, it } from 'vitest';
import { type Journal, MAX_STATE_BYTES, STATE_MAGIC, checkConsistent, formatJournal, otherSlot, parseJournal } from '../../../src/slots/state-file.js';
import { expectCode } from '../expect-code.js';

/** A journal on trial in b, with a good a to go back to. */
function trialJournal(): Journal {
  return {
    active: 'b',
    previous: 'a',
    trial: true,
    attempts: 1,
    maxAttempts: 3,
    saves: 2,
    slots: { a: { version: '1.4.2', status: 'good', entry: 'bin/app' }, b: { version: '2.0.0', status: 'trial', entry: 'bin/app' } },
    bad: ['3.0.0'],
  };
}

const TRIAL_TEXT = [
  'twinslot-state 1',
  'active b',
  'previous a',
  'trial 1',
  'attempts 1',
  'max-attempts 3',
  'saves 2',
  'a 1.4.2 good',
  'b 2.0.0 trial',
  'entry-a bin/app',
  'entry-b bin/app',
  'bad 3.0.0',
  '',
].join('\n');

/** TRIAL_TEXT with one line replaced (or removed, when `to` is null). */
function editLine(prefix: string, to: string | null): string {
  const lines = TRIAL_TEXT.split('\n');
  const i = lines.findIndex((l) => l.startsWith(prefix));
  expect(i).toBeGreaterThanOrEqual(0);
  if (to === null) lines.splice(i, 1);
  else lines[i] = to;
  return lines.join('\n');
}

describe('formatJournal', () => {
  it('writes the documented line format the launcher reads', () => {
    expect(formatJournal(trialJournal())).toBe(TRIAL_TEXT);
  });

  it('omits previous and entries that are not set, and writes "-" for no version', () => {
    const j: Journal = {
      ...trialJournal(),
      active: 'a',
      previous: null,
      trial: false,
      slots: { a: { version: '1.0.0', status: 'good', entry: 'app' }, b: { version: null, status: 'empty', entry: null } },
      bad: [],
    };
    expect(formatJournal(j)).toBe('twinslot-state 1\nactive a\ntrial 0\nattempts 1\nmax-attempts 3\nsaves 2\na 1.0.0 good\nb - empty\nentry-a app\n');
  });
});

describe('parseJournal', () => {
  it('round-trips with formatJournal', () => {
    expect(parseJournal(TRIAL_TEXT)).toEqual(trialJournal());
    const committed: Journal = { ...trialJournal(), trial: false, attempts: 0, slots: { ...trialJournal().slots, b: { version: '2.0.0', status: 'good', entry: 'bin/app' } } };
    expect(parseJournal(formatJournal(committed))).toEqual(committed);
  });

  it('ignores unknown keys', () => {
    const text = TRIAL_TEXT + 'future-key some value\nanother 1\n';
    expect(parseJournal(text)).toEqual(trialJournal());
  });

  it('defaults saves to 0 when absent and accepts several bad lines', () => {
    const j = parseJournal(editLine('saves', null) + 'bad 4.0.0\n');
    expect(j.saves).toBe(0);
    expect(j.bad).toEqual(['3.0.0', '4.0.0']);
  });

  it.each([
    ['an empty file', ''],
    ['a missing magic line', TRIAL_TEXT.slice(STATE_MAGIC.length + 1)],
    ['another format version', TRIAL_TEXT.replace('twinslot-state 1', 'twinslot-state 2')],
    ['a truncated file without final newline', TRIAL_TEXT.slice(0, -1)],
    ['a file cut in the middle of a line', TRIAL_TEXT.slice(0, TRIAL_TEXT.indexOf('max-attempts') + 5)],
    ['a repeated key', TRIAL_TEXT.replace('attempts 1\n', 'attempts 1\nattempts 0\n')],
    ['a repeated active', TRIAL_TEXT + 'active a\n'],
    ['a missing active', editLine('active', null)],
    ['a missing trial line', editLine('trial', null)],
    ['a missing slot line', editLine('a 1.4.2', null)],
    ['an unknown status', editLine('b 2.0.0', 'b 2.0.0 testing')],
    ['a slot line with extra fields', editLine('b 2.0.0', 'b 2.0.0 trial x')],
    ['an invalid version', editLine('b 2.0.0', 'b v2 trial')],
    ['an invalid bad version', editLine('bad', 'bad latest')],
    ['a bad active slot name', editLine('active', 'active c')],
    ['a trial flag of 2', editLine('trial', 'trial 2')],
    ['a negative attempts', editLine('attempts', 'attempts -1')],
    ['a huge attempts', editLine('attempts', 'attempts 99999999999')],
    ['max-attempts 0', editLine('max-attempts', 'max-attempts 0')],
    ['a line without a space', TRIAL_TEXT + 'garbage\n'],
    ['a line starting with a space', TRIAL_TEXT + ' x\n'],
    ['an unsafe entry', editLine('entry-b', 'entry-b ../../bin/sh')],
    ['an active slot with status trial but trial 0', editLine('trial', 'trial 0')],
    ['an active slot with status good but trial 1', editLine('b 2.0.0', 'b 2.0.0 good')],
    ['an active slot that is staged', editLine('b 2.0.0', 'b 2.0.0 staged')],
    ['an active slot without a version', editLine('b 2.0.0', 'b - trial')],
    ['an active slot without an entry', editLine('entry-b', null)],
    ['a trial without a previous slot', editLine('previous', null)],
    ['a trial whose previous is not good', editLine('a 1.4.2', 'a 1.4.2 bad')],
    ['a trial whose previous has no entry', editLine('entry-a', null)],
    ['previous equal to active', editLine('previous', 'previous b').replace('trial 1', 'trial 0').replace('b 2.0.0 trial', 'b 2.0.0 good')],
    ['a file over 64 KiB', TRIAL_TEXT + `pad ${'x'.repeat(MAX_STATE_BYTES)}\n`],
  ])('refuses %s with STATE_CORRUPT', (_name, text) => {
    expectCode(() => parseJournal(text), 'STATE_CORRUPT');
  });
});

describe('checkConsistent', () => {
  it('accepts a committed journal with no previous slot', () => {
    const j: Journal = { ...trialJournal(), previous: null, trial: false, slots: { ...trialJournal().slots, b: { version: '2.0.0', status: 'good', entry: 'app' } } };
    expect(() => checkConsistent(j)).not.toThrow();
  });
});

describe('otherSlot', () => {
  it('swaps a and b', () => {
    expect(otherSlot('a')).toBe('b');
    expect(otherSlot('b')).toBe('a');
  });
});
