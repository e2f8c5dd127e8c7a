import type { BreakStatus } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { practiceWeeks, togetherWeeks } from './practiceWeeks.js';

const weeks = [
  { from: '2026-11-01', to: '2026-11-07' },
  { from: '2026-11-08', to: '2026-11-14' },
];
const heard = { by: 'sam', at: 1, ofCurrentWords: true };

function share(partnerId: string, date: string, isHeard = false) {
  return { partnerId: partnerId as never, date, heard: isHeard ? (heard as never) : null };
}
function pause(by: string, date: string, status: BreakStatus) {
  return { by: by as never, date, status };
}

describe('practices per week', () => {
  it('counts shares, heard shares, breaks called and came back from, per partner and week', () => {
    const rows = practiceWeeks(
      weeks,
      ['alex', 'sam'],
      [
        share('alex', '2026-11-01', true),
        share('alex', '2026-11-07'),
        share('sam', '2026-11-08', true),
        share('alex', '2026-10-31'),
      ],
      [
        pause('alex', '2026-11-02', 'returned'),
        pause('alex', '2026-11-03', 'ended-early'),
        pause('alex', '2026-11-09', 'open'),
        pause('sam', '2026-11-14', 'replaced'),
      ],
    );
    expect(rows.map((r) => [r.from, r.byPartner])).toEqual([
      [
        '2026-11-01',
        {
          alex: { shares: 2, heard: 1, breaksCalled: 2, cameBack: 2 },
          sam: { shares: 0, heard: 0, breaksCalled: 0, cameBack: 0 },
        },
      ],
      [
        '2026-11-08',
        {
          alex: { shares: 0, heard: 0, breaksCalled: 1, cameBack: 0 },
          sam: { shares: 1, heard: 1, breaksCalled: 1, cameBack: 0 },
        },
      ],
    ]);
  });
});

describe('what the two of them did together, per week', () => {
  it('counts repairs by the day they were marked done, and meetings by their Monday', () => {
    const at = (date: string) => new Date(`${date}T12:00:00`).getTime();
    const rows = togetherWeeks(
      weeks,
      [],
      [
        { completed: { at: at('2026-11-03') } },
        { completed: null },
        { completed: { at: at('2026-11-09') } },
        { completed: { at: at('2026-10-20') } },
      ],
      [{ week: '2026-11-02' }, { week: '2026-11-09' }, { week: '2026-10-26' }],
    );
    expect(rows.map((r) => [r.repairsDone, r.meetingsHeld])).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it('counts answers revealed together in the week both answers were out, and none still hidden', () => {
    const at = (date: string) => new Date(`${date}T12:00:00`).getTime();
    const answer = (keyPublishedAt: number | null) => ({ answer: { keyPublishedAt } }) as never;
    const reveal = (revealed: boolean, ...keys: (number | null)[]) => ({
      revealed,
      partners: keys.map((k) => answer(k)),
    });
    const rows = togetherWeeks(
      weeks,
      [
        // Answered on the 6th and the 8th: revealed on the 8th, in the second week.
        reveal(true, at('2026-11-06'), at('2026-11-08')),
        reveal(true, at('2026-11-02'), at('2026-11-02')),
        reveal(false, at('2026-11-03'), null),
        reveal(true, at('2026-10-20'), at('2026-10-21')),
      ],
      [],
      [],
    );
    expect(rows.map((r) => [r.revealed, r.repairsDone, r.meetingsHeld])).toEqual([
      [1, 0, 0],
      [1, 0, 0],
    ]);
  });
});
