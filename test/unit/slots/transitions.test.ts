import { describe, expect, it } from 'vitest';
import { type Journal, checkConsistent, formatJournal, parseJournal } from '../../../src/slots/state-file.js';
import {
  MAX_SAVES,
  commitTrial,
  countStart,
  decideLaunch,
  firstInstall,
  markInvalid,
  markStaged,
  revertTrial,
  switchToStaged,
  writableSlot,
} from '../../../src/slots/transitions.js';
import { expectCode } from '../expect-code.js';

/** Every journal a transition returns must survive the state file: written, read back, consistent. */
function persisted(j: Journal): Journal {
  const back = parseJournal(formatJournal(j));
  expect(back).toEqual(j);
  return back;
}

const installed = (): Journal => firstInstall('a', '1.0.0', 'bin/app', 3);
const staged = (): Journal => markStaged(markInvalid(installed(), 'b'), 'b', '2.0.0', 'bin/app2');
const onTrial = (): Journal => switchToStaged(staged(), 'b');

describe('firstInstall', () => {
  it('commits the installed slot and leaves the other empty', () => {
    const j = persisted(installed());
    expect(j).toEqual({
      active: 'a',
      previous: null,
      trial: false,
      attempts: 0,
      maxAttempts: 3,
      saves: 0,
      slots: { a: { version: '1.0.0', status: 'good', entry: 'bin/app' }, b: { version: null, status: 'empty', entry: null } },
      bad: [],
    });
    expect(firstInstall('b', '1.0.0', 'app', 5).slots.a.status).toBe('empty');
  });
});

describe('writableSlot', () => {
  it('is the inactive slot while the active one is committed', () => {
    expect(writableSlot(installed())).toBe('b');
    expect(writableSlot(firstInstall('b', '1.0.0', 'app', 3))).toBe('a');
  });

  it('refuses during a trial', () => {
    expectCode(() => writableSlot(onTrial()), 'INVALID_STATE');
  });
});

describe('markInvalid / markStaged', () => {
  it('marks the inactive slot invalid and counts a save', () => {
    const j = persisted(markInvalid(installed(), 'b'));
    expect(j.slots.b).toEqual({ version: null, status: 'invalid', entry: null });
    expect(j.slots.a.status).toBe('good');
    expect(j.saves).toBe(1);
  });

  it('never marks the active slot', () => {
    expectCode(() => markInvalid(installed(), 'a'), 'INVALID_STATE');
    expectCode(() => markStaged(installed(), 'a', '2.0.0', 'app'), 'INVALID_STATE');
  });

  it('drops previous when the previous slot is overwritten', () => {
    const committed = commitTrial(onTrial());
    expect(committed.previous).toBe('a');
    const j = persisted(markInvalid(committed, 'a'));
    expect(j.previous).toBeNull();
    expect(j.slots.a.status).toBe('invalid');
  });

  it('records the staged version and entry', () => {
    const j = persisted(staged());
    expect(j.slots.b).toEqual({ version: '2.0.0', status: 'staged', entry: 'bin/app2' });
    expect(j.active).toBe('a');
    expect(j.trial).toBe(false);
  });
});

describe('switchToStaged', () => {
  it('makes the staged slot active on trial with zero attempts', () => {
    const j = persisted(onTrial());
    expect(j.active).toBe('b');
    expect(j.previous).toBe('a');
    expect(j.trial).toBe(true);
    expect(j.attempts).toBe(0);
    expect(j.slots.b.status).toBe('trial');
    expect(j.slots.a.status).toBe('good');
  });

  it('starts the trial count afresh whatever the journal held before', () => {
    const j = switchToStaged({ ...staged(), attempts: 2 }, 'b');
    expect(j.attempts).toBe(0);
    expect(decideLaunch(j)).toMatchObject({ action: 'run', counted: true });
  });

  it('refuses a slot that is not staged, the active slot, and a second trial', () => {
    expectCode(() => switchToStaged(installed(), 'b'), 'INVALID_STATE');
    expectCode(() => switchToStaged(markInvalid(installed(), 'b'), 'b'), 'INVALID_STATE');
    expectCode(() => switchToStaged(staged(), 'a'), 'INVALID_STATE');
    expectCode(() => switchToStaged({ ...staged(), trial: true }, 'b'), 'INVALID_STATE');
  });
});

describe('countStart / commitTrial / revertTrial', () => {
  it('counts a start', () => {
    const j = persisted(countStart(countStart(onTrial())));
    expect(j.attempts).toBe(2);
    expect(j.saves).toBe(onTrial().saves + 2);
  });

  it('commits the trial slot and resets the counters', () => {
    const j = persisted(commitTrial(countStart(onTrial())));
    expect(j.trial).toBe(false);
    expect(j.active).toBe('b');
    expect(j.previous).toBe('a');
    expect(j.attempts).toBe(0);
    expect(j.saves).toBe(0);
    expect(j.slots.b.status).toBe('good');
  });

  it('refuses to commit when no trial is pending', () => {
    expectCode(() => commitTrial(installed()), 'INVALID_STATE');
  });

  it('reverts to the previous slot, marks the trial slot bad and remembers its version', () => {
    const j = persisted(revertTrial(countStart(onTrial())));
    expect(j.active).toBe('a');
    expect(j.previous).toBe('b');
    expect(j.trial).toBe(false);
    expect(j.attempts).toBe(0);
    expect(j.slots.a.status).toBe('good');
    expect(j.slots.b).toEqual({ version: '2.0.0', status: 'bad', entry: 'bin/app2' });
    expect(j.bad).toEqual(['2.0.0']);
  });

  it('does not list a bad version twice and keeps the bad list bounded', () => {
    const again = revertTrial({ ...onTrial(), bad: ['2.0.0'] });
    expect(again.bad).toEqual(['2.0.0']);
    const many = Array.from({ length: 64 }, (_, i) => `0.0.${i}`);
    const bounded = revertTrial({ ...onTrial(), bad: many });
    expect(bounded.bad).toHaveLength(64);
    expect(bounded.bad.at(-1)).toBe('2.0.0');
    expect(bounded.bad).not.toContain('0.0.0');
  });

  it('also rolls a committed slot back to a good previous one (manual rollback)', () => {
    const j = persisted(revertTrial(commitTrial(onTrial())));
    expect(j.active).toBe('a');
    expect(j.slots.b.status).toBe('bad');
    expect(j.bad).toEqual(['2.0.0']);
  });

  it('refuses to revert without a good previous slot', () => {
    expectCode(() => revertTrial(installed()), 'INVALID_STATE');
    expectCode(() => revertTrial(revertTrial(onTrial())), 'INVALID_STATE');
  });
});

describe('decideLaunch', () => {
  it('runs a committed slot without counting, however often it starts (power cycles)', () => {
    let j = commitTrial(onTrial());
    for (let i = 0; i < 100; i++) {
      const d = decideLaunch(j);
      expect(d).toEqual({ action: 'run', slot: 'b', counted: false, journal: j });
      j = d.journal;
    }
    expect(j.active).toBe('b');
    expect(j.attempts).toBe(0);
  });

  it('counts each start while a trial is pending', () => {
    const d = decideLaunch(onTrial());
    expect(d.action).toBe('run');
    expect(d.slot).toBe('b');
    expect(d.action === 'run' && d.counted).toBe(true);
    expect(persisted(d.journal).attempts).toBe(1);
  });

  it('runs the trial maxAttempts times, then reverts before the next start', () => {
    let j = onTrial();
    for (let i = 1; i <= j.maxAttempts; i++) {
      const d = decideLaunch(j);
      expect(d.action).toBe('run');
      j = d.journal;
      expect(j.attempts).toBe(i);
    }
    const d = decideLaunch(j);
    expect(d).toMatchObject({ action: 'revert-then-run', slot: 'a', reason: 'max-attempts' });
    expect(persisted(d.journal).slots.b.status).toBe('bad');
    expect(d.journal.bad).toContain('2.0.0');
    // Once reverted, further starts run the good slot uncounted.
    expect(decideLaunch(d.journal)).toMatchObject({ action: 'run', slot: 'a', counted: false });
  });

  it('reverts a trial past the save limit (state loop)', () => {
    const looping: Journal = { ...onTrial(), saves: MAX_SAVES };
    const d = decideLaunch(looping);
    expect(d).toMatchObject({ action: 'revert-then-run', slot: 'a', reason: 'state-loop' });
    expect(decideLaunch({ ...onTrial(), saves: MAX_SAVES - 1 }).action).toBe('run');
  });

  it('keeps every journal it returns consistent', () => {
    let j = onTrial();
    for (let i = 0; i < 10; i++) {
      j = decideLaunch(j).journal;
      expect(() => checkConsistent(j)).not.toThrow();
    }
    expect(j.trial).toBe(false);
    expect(j.active).toBe('a');
  });
});
