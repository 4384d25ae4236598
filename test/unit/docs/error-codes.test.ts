// docs/error-codes.md is generated from ERROR_CODES; this fails when someone changes
// the table (or the page) without regenerating it.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DOC_PATH, loadErrorCodes, renderErrorCodes } from '../../../scripts/error-codes.mjs';
import { ERROR_CODES } from '../../../src/errors.js';

describe('docs/error-codes.md', () => {
  it('is exactly what scripts/error-codes.mjs renders from ERROR_CODES (run `npm run docs` to refresh)', async () => {
    expect(await readFile(DOC_PATH, 'utf8')).toBe(renderErrorCodes(ERROR_CODES));
  });

  it('has one row per code, each with a sentence of description', async () => {
    const page = await readFile(DOC_PATH, 'utf8');
    for (const [code, description] of Object.entries(ERROR_CODES)) {
      expect(description.length, code).toBeGreaterThan(20);
      expect(page).toContain(`| \`${code}\` | ${description} |`);
    }
  });

  it('loads the table from the TypeScript source the same way the docs script does', async () => {
    expect(await loadErrorCodes()).toEqual(ERROR_CODES);
  });

  it('would notice a changed description', () => {
    const changed = { ...ERROR_CODES, NETWORK: 'Something else.' };
    expect(renderErrorCodes(changed)).not.toBe(renderErrorCodes(ERROR_CODES));
  });
});
