/**
 * Argument parsing for the CLI: node:util parseArgs in strict mode, with the
 * required options checked up front so every mistake is one clear line.
 *
 * @module
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function parse(command: string, argv: readonly string[], options: OptionSpec, positionals: number): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`);
  }
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

export function required(p: Parsed, command: string, ...names: string[]): void {
  for (const name of names) {
    const v = p.values[name];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) throw new UsageError(`${command}: --${name} is required`);
  }
}

export function str(p: Parsed, name: string): string {
  return p.values[name] as string;
}

export function optStr(p: Parsed, name: string): string | undefined {
  return p.values[name] as string | undefined;
}

export function list(p: Parsed, name: string): string[] {
  return (p.values[name] as string[] | undefined) ?? [];
}

export function int(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = p.values[name] as string | undefined;
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

/** `name=percent` pairs of `--ring`. */
export function rings(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([A-Za-z0-9*][A-Za-z0-9._-]{0,63})=([0-9]{1,3})$/.exec(v);
    if (!m || Number(m[2]) > 100) throw new UsageError(`--ring takes name=percent (0-100), got "${v}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Splits a probe command line into argv: whitespace separates, double or single quotes group. Never run by a shell. */
export function splitCommand(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started || current) args.push(current);
      current = '';
      started = false;
    } else current += c;
  }
  if (quote) throw new UsageError(`unbalanced quote in "${text}"`);
  if (started || current) args.push(current);
  if (args.length === 0) throw new UsageError('a probe command is empty');
  return args;
}
