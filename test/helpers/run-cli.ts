// Runs the built CLI in a child process and keeps what a user sees: exit code, stdout
// and stderr (a failing command is a result, not a thrown error).
import { type ExecFileOptions, execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `twinslot <args>` through `node <cli>`; `cli` is read at each call (suites may build their own). */
export function cliRunner(cli: () => string): (...args: string[]) => Promise<CliRun> {
  return (...args) => runCli(cli(), args);
}

export async function runCli(cli: string, args: readonly string[], options: ExecFileOptions = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args], { ...options, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
