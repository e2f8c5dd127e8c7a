import { describe, expect, it } from 'vitest';
import { problemFor } from './api.js';

describe('problemFor', () => {
  it('says why an invite was refused in the server’s words when it gives them', () => {
    const problem = problemFor(
      409,
      {
        error:
          'This invite link has already been opened on another device. If that was not you, please talk to your partner.',
      },
      'join',
    );
    expect(problem.kind).toBe('already-used');
    expect(problem.message).toMatch(/opened on another device/);
  });

  it('falls back to its own sentence when the answer has none', () => {
    expect(problemFor(409, null, 'join').message).toMatch(/already been used/);
  });
});
