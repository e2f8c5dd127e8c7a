import { existsSync } from 'node:fs';
import path from 'node:path';
import { CloseCode } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoFiles, root } from './repoFiles.js';

// The contract lives in the project (docs/api.md). A clone holds nothing beside it, so every
// link a reader follows must land on a file of this repository, and no file may send a reader
// to a contract outside it.

const files = repoFiles();
const markdown = files.filter((f) => f.endsWith('.md'));

interface Link {
  file: string;
  target: string;
}

/** Markdown links and `<img src>` targets that point into the repository. */
function localLinks(file: string): Link[] {
  const text = readRepoFile(file).replace(/```[\s\S]*?```/g, '');
  const targets = [
    ...[...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] ?? ''),
    ...[...text.matchAll(/<img[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1] ?? ''),
  ];
  return targets
    .filter((t) => t !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(t))
    .map((target) => ({ file, target }));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces become hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readRepoFile(file).replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1] ?? '')));
}

describe('links in the docs', () => {
  const links = markdown.flatMap(localLinks);

  it('finds the docs and their links', () => {
    for (const doc of ['README.md', 'server/README.md', 'docs/api.md', 'docs/deploy.md']) {
      expect(markdown).toContain(doc);
    }
    expect(links.length).toBeGreaterThan(10);
  });

  it('point only to files that exist in the repository', () => {
    const broken = links.filter(({ file, target }) => {
      const [pathPart = ''] = target.split('#');
      if (pathPart === '') return false;
      const resolved = path.resolve(root, path.dirname(file), decodeURI(pathPart));
      return !resolved.startsWith(root) || !existsSync(resolved);
    });
    expect(broken).toEqual([]);
  });

  it('point only to headings that exist in the file they name', () => {
    const broken = links.filter(({ file, target }) => {
      const [pathPart = '', fragment] = target.split('#');
      if (fragment === undefined) return false;
      const linked = pathPart === '' ? file : path.posix.join(path.posix.dirname(file), pathPart);
      if (!linked.endsWith('.md') || !existsSync(path.join(root, linked))) return false;
      return !anchorsOf(path.posix.normalize(linked)).has(fragment);
    });
    expect(broken).toEqual([]);
  });
});

describe('the contract inside the project', () => {
  it('is never sent for outside the repository', () => {
    // Built from parts, so this file does not name what it looks for.
    const outside = [['shared', 'contract.md'].join('/'), ['agreements', 'md'].join('.')];
    const mentions = files.filter((f) => {
      if (!existsSync(path.join(root, f))) return false;
      const text = readRepoFile(f);
      return outside.some((name) => text.includes(name));
    });
    expect(mentions).toEqual([]);
  });

  it('lists every environment variable the server reads in docs/api.md', () => {
    const config = readRepoFile('server/src/config.ts');
    const schema = /const EnvSchema = v\.object\(\{([\s\S]*?)\n\}\);/.exec(config)?.[1] ?? '';
    const variables = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
    expect(variables).toContain('MEND_MAX_SPACES_PER_DAY');
    const api = readRepoFile('docs/api.md');
    const missing = variables.filter((name) => !api.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });

  it('gives every close code a row in docs/api.md', () => {
    const api = readRepoFile('docs/api.md');
    const missing = Object.entries(CloseCode).filter(
      ([name, code]) => !new RegExp(`^\\| ${code} +\\| \`${name}\``, 'm').test(api),
    );
    expect(missing).toEqual([]);
  });
});
