/**
 * How the CLI talks: plain lines (or one JSON document with --json) on stdout;
 * progress and notes on stderr. Progress is a bar only when both stdout and stderr
 * are terminals (an operator is watching); otherwise an occasional plain line, never
 * a control character (see progress.ts). With --json there is no progress at all.
 *
 * @module
 */
import { ProgressView } from './progress.js';

export { formatBytes } from './format.js';

export interface Output {
  readonly json: boolean;
  line(text: string): void;
  data(value: unknown): void;
  /** Long work: `label` names the task; `extra` is appended (a rate, say). */
  progress(label: string, done: number, total: number, extra?: string): void;
  endProgress(): void;
  /** A line for the operator on stderr (never part of --json output). */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  const tty = process.stdout.isTTY === true && process.stderr.isTTY === true;
  const view = new ProgressView({ tty, write: (text) => void process.stderr.write(text) });
  return {
    json,
    line: (text) => {
      if (!json) process.stdout.write(text + '\n');
    },
    data: (value) => {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
    progress: (label, done, total, extra) => {
      if (!json) view.update(label, done, total, extra);
    },
    endProgress: () => view.end(),
    note: (text) => {
      view.clearLine();
      process.stderr.write(text + '\n');
    },
  };
}
