/**
 * The navigation of a space: six sections, so a phone shows them in two calm rows. A section
 * leads to its own screen and holds the screens reached from it: the practices (the daily share,
 * a break, answering together, after a fight, the weekly meeting) sit under Practices, the export under Progress, where a therapist's copy is made.
 * Settings and "Too much?" live in the header, one tap from every screen.
 */
export const sections = [
  { route: '/s/[spaceId]', label: 'Today', holds: [] },
  {
    route: '/s/[spaceId]/practices',
    label: 'Practices',
    holds: [
      '/s/[spaceId]/share',
      '/s/[spaceId]/break',
      '/s/[spaceId]/together',
      '/s/[spaceId]/repair',
      '/s/[spaceId]/meeting',
    ],
  },
  { route: '/s/[spaceId]/agreements', label: 'Agreements', holds: [] },
  { route: '/s/[spaceId]/questions', label: 'Questions', holds: [] },
  { route: '/s/[spaceId]/boundaries', label: 'Boundaries', holds: [] },
  { route: '/s/[spaceId]/progress', label: 'Progress', holds: ['/s/[spaceId]/export'] },
] as const;

export type SectionRoute = (typeof sections)[number]['route'];

/** `routeId` is `route` or one of its pages (`/agreements/[agreementId]` is under `/agreements`). */
function isUnder(routeId: string, route: string): boolean {
  return routeId === route || routeId.startsWith(`${route}/`);
}

/**
 * The section a screen belongs to, for `aria-current`: Today only on its own page, any other
 * section on its pages and on the screens it holds; `null` for a screen outside them (Settings).
 */
export function sectionOf(routeId: string | null): SectionRoute | null {
  if (routeId === null) return null;
  for (const section of sections) {
    if (section.route === '/s/[spaceId]') {
      if (routeId === section.route) return section.route;
    } else if ([section.route, ...section.holds].some((r) => isUnder(routeId, r))) {
      return section.route;
    }
  }
  return null;
}
