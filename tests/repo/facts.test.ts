import { ID_PATTERN, Limits, MAX_PARTNERS } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoFiles } from './repoFiles.js';

// Each fact (the id shape, the name limits, the two-partner cap) is defined once in
// packages/model and imported everywhere else; a copy would drift the day the fact changes.
const code = repoFiles().filter(
  (f) => /\.(ts|svelte|js|mjs)$/.test(f) && !f.startsWith('tests/repo/') && !f.includes('/dist/'),
);

function filesMatching(pattern: RegExp, files = code): string[] {
  return files.filter((f) => pattern.test(readRepoFile(f)));
}

describe('one definition of each fact', () => {
  it('writes the id pattern out only in packages/model/src/ids.ts', () => {
    expect(ID_PATTERN.source).toBe('^[A-Za-z0-9_-]{16,64}$');
    expect(filesMatching(/\{16,64\}/)).toEqual(['packages/model/src/ids.ts']);
  });

  it('gives no text field of the web app a maxlength written as a number', () => {
    const web = code.filter((f) => f.startsWith('apps/web/src/'));
    expect(web.length).toBeGreaterThan(0);
    expect(filesMatching(/maxlength=["']?\d/i, web)).toEqual([]);
  });

  it('compares a partner count with MAX_PARTNERS, never with the number 2', () => {
    expect(MAX_PARTNERS).toBe(2);
    const partnerCountVs2 = /\b(partners?|count)\b[^\n;]*[<>]=?\s*2\b/;
    expect(filesMatching(partnerCountVs2)).toEqual([]);
  });

  it('keeps the display-name and space-name limits only in the model', () => {
    const limitsAsNumbers = new RegExp(
      `(MAX_DISPLAY_NAME|MAX_SPACE_NAME|displayName:\\s*${Limits.displayName}\\b|spaceName:\\s*${Limits.spaceName}\\b)`,
    );
    expect(filesMatching(limitsAsNumbers)).toEqual(['packages/model/src/schema.ts']);
  });
});
