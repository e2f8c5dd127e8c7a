import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sectionOf, sections } from './sections.js';

// Not `new URL(path, import.meta.url)`: the client transform would treat it as an asset.
const spaceRoutes = join(dirname(fileURLToPath(import.meta.url)), '../routes/s/[spaceId]');

/** Every screen of a space, as SvelteKit names its route: `/s/[spaceId]/agreements/[agreementId]`. */
function screensOfASpace(): string[] {
  return readdirSync(spaceRoutes, { recursive: true, encoding: 'utf8' })
    .filter((file) => file === '+page.svelte' || file.endsWith('/+page.svelte'))
    .map((file) => `/s/[spaceId]/${file.replace(/\/?\+page\.svelte$/, '')}`.replace(/\/$/, ''))
    .sort();
}

// Reached from the header on every screen (Settings, "Too much?"), or from Today and Settings
// while the partner has not joined yet (the invite).
// Reached from the header (Settings, too much) or from Settings (devices).
const outsideSections = [
  '/s/[spaceId]/invite',
  '/s/[spaceId]/settings',
  '/s/[spaceId]/devices',
  '/s/[spaceId]/too-much',
];

describe('the sections of a space', () => {
  it('are six, so a phone shows them in two rows of three', () => {
    expect(sections.map((s) => s.label)).toEqual([
      'Today',
      'Practices',
      'Agreements',
      'Questions',
      'Boundaries',
      'Progress',
    ]);
  });

  it('reach every screen of a space: each belongs to one section, or is reached from the header', () => {
    const screens = screensOfASpace();
    expect(screens).toContain('/s/[spaceId]/share');
    const homeless = screens.filter((s) => sectionOf(s) === null && !outsideSections.includes(s));
    expect(homeless).toEqual([]);
    for (const s of outsideSections) expect(screens, s).toContain(s);
  });

  it('mark Today current only on Today itself, not on the screens below it', () => {
    expect(sectionOf('/s/[spaceId]')).toBe('/s/[spaceId]');
    expect(sectionOf('/s/[spaceId]/settings')).toBeNull();
    expect(sectionOf('/s/[spaceId]/too-much')).toBeNull();
  });

  it('mark Practices current on the daily share and the break, and Progress on the export', () => {
    expect(sectionOf('/s/[spaceId]/practices')).toBe('/s/[spaceId]/practices');
    expect(sectionOf('/s/[spaceId]/share')).toBe('/s/[spaceId]/practices');
    expect(sectionOf('/s/[spaceId]/break')).toBe('/s/[spaceId]/practices');
    expect(sectionOf('/s/[spaceId]/export')).toBe('/s/[spaceId]/progress');
  });

  it("mark a section current on its detail pages, and never on a route that only shares its name's start", () => {
    expect(sectionOf('/s/[spaceId]/agreements/[agreementId]')).toBe('/s/[spaceId]/agreements');
    expect(sectionOf('/s/[spaceId]/questions/[questionId]')).toBe('/s/[spaceId]/questions');
    expect(sectionOf('/s/[spaceId]/breakfast')).toBeNull();
    expect(sectionOf(null)).toBeNull();
  });
});
