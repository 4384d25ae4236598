/**
 * How the CLI talks: plain lines (or one JSON document with --json) on stdout,
 * progress on stderr only when it is a terminal.
 *
 * @module
 */
export interface Output {
  readonly json: boolean;
  line(text: string): void;
  data(value: unknown): void;
  progress(text: string): void;
  endProgress(): void;
  /** A line for the operator on stderr (never part of --json output). */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    json,
    line: (text) => {
      if (!json) process.stdout.write(text + '\n');
    },
    data: (value) => {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    },
    progress: (text) => {
      if (json || !tty) return;
      process.stderr.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    endProgress: () => {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
    note: (text) => {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
      process.stderr.write(text + '\n');
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
