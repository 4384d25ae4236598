// The guides may only use commands and flags the CLI has: every `twinslot <command>`
// line in a code block names a command src/cli.ts dispatches, and every --flag in the
// guides is an option some command parses (src/cli/*.ts). Also: README links each guide.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..', '..');
const GUIDES = join(REPO, 'docs', 'guides');

async function cliSource(): Promise<{ commands: Set<string>; flags: Set<string> }> {
  const main = await readFile(join(REPO, 'src', 'cli.ts'), 'utf8');
  const commands = new Set([...main.matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!));
  let parsers = '';
  for (const f of await readdir(join(REPO, 'src', 'cli'))) if (f.endsWith('.ts')) parsers += await readFile(join(REPO, 'src', 'cli', f), 'utf8');
  // Option specs of node:util parseArgs: `name: { type: ...` or `'name-x': { type: ...`.
  const flags = new Set([...parsers.matchAll(/'?([a-z][a-z-]*)'?: \{ type: '(?:string|boolean)'/g)].map((m) => m[1]!));
  for (const global of ['json', 'help']) flags.add(global); // added by args.ts parse() to every command
  return { commands, flags };
}

async function docs(): Promise<{ name: string; text: string }[]> {
  const names = (await readdir(GUIDES)).filter((f) => f.endsWith('.md'));
  const out = await Promise.all(names.map(async (name) => ({ name: `guides/${name}`, text: await readFile(join(GUIDES, name), 'utf8') })));
  out.push({ name: 'migrating-from-electron-updater.md', text: await readFile(join(REPO, 'docs', 'migrating-from-electron-updater.md'), 'utf8') });
  return out;
}

describe('guides', () => {
  it('use only commands that src/cli.ts dispatches', async () => {
    const { commands } = await cliSource();
    expect(commands.has('release')).toBe(true); // the parser of this test still works
    const unknown: string[] = [];
    for (const { name, text } of await docs()) {
      for (const m of text.matchAll(/^\s*twinslot ([a-z-]+)/gm)) if (!commands.has(m[1]!)) unknown.push(`${name}: twinslot ${m[1]}`);
      for (const m of text.matchAll(/`twinslot ([a-z-]+)/g)) if (!commands.has(m[1]!)) unknown.push(`${name}: twinslot ${m[1]}`);
    }
    expect(unknown).toEqual([]);
  });

  it('use only flags that some command parses', async () => {
    const { flags } = await cliSource();
    expect(flags.has('deltas-from')).toBe(true);
    const unknown: string[] = [];
    for (const { name, text } of await docs()) {
      for (const line of text.split('\n')) {
        if (/^\s*aws /.test(line)) continue; // another tool's flags
        // Quoted strings are an app's own command lines (`--probe "bin/app --self-test"`).
        const own = line.replace(/"[^"]*"/g, '""');
        for (const m of own.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)) if (!flags.has(m[1]!)) unknown.push(`${name}: --${m[1]}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('are each linked from README.md', async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    for (const f of (await readdir(GUIDES)).filter((n) => n.endsWith('.md'))) expect(readme).toContain(`](docs/guides/${f})`);
    expect(readme).toContain('](docs/migrating-from-electron-updater.md)');
    expect(readme).toContain('](docs/error-codes.md)');
  });
});
