import { Limits } from '@mend/model';
import { flushSync } from 'svelte';
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Presence } from './Presence.svelte.js';

const alex = { partnerId: 'partner-alex-000000', name: 'Alex', color: '#aa3355' };

function relay(from: Awareness, to: Awareness) {
  applyAwarenessUpdate(to, encodeAwarenessUpdate(from, [from.clientID]), 'remote');
}

describe('partner presence', () => {
  it('shows the partner as here, and what they are editing, from their awareness state', () => {
    const mine = new Awareness(new Y.Doc());
    const theirs = new Awareness(new Y.Doc());
    const presence = new Presence(mine, alex);
    const seen: boolean[] = [];
    const stop = $effect.root(() => {
      $effect(() => {
        seen.push(presence.isOnline('partner-sam-000000'));
      });
    });
    flushSync();

    theirs.setLocalState({
      user: { partnerId: 'partner-sam-000000', name: 'Sam', color: '#336699' },
      focus: { kind: 'agreement', id: 'agreement-1' },
    });
    relay(theirs, mine);
    flushSync();

    expect(seen).toEqual([false, true]);
    expect(presence.focusedOn('partner-sam-000000', 'agreement', 'agreement-1')).toHaveLength(1);
    expect(presence.focusedOn('partner-sam-000000', 'agreement', 'other')).toHaveLength(0);
    stop();
  });

  it("resolves the partner's caret to the same place in the text after other edits", () => {
    const doc = new Y.Doc();
    const text = doc.getText('body');
    text.insert(0, 'We talk every evening.');
    const partnerDoc = new Y.Doc();
    Y.applyUpdate(partnerDoc, Y.encodeStateAsUpdate(doc));
    const theirs = new Awareness(partnerDoc);
    theirs.setLocalState({
      user: { partnerId: 'partner-sam-000000', name: 'Sam', color: '#336699' },
      focus: { kind: 'agreement', id: 'a1' },
      cursor: {
        field: 'body',
        position: Y.relativePositionToJSON(
          Y.createRelativePositionFromTypeIndex(partnerDoc.getText('body'), 8),
        ),
      },
    });
    const mine = new Awareness(doc);
    relay(theirs, mine);
    text.insert(0, 'Monday: ');

    const [peer] = new Presence(mine, alex).current;
    const at = Y.createAbsolutePositionFromRelativePosition(
      Y.createRelativePositionFromJSON(peer!.cursor!.position),
      doc,
    );
    expect(text.toString().slice(at!.index)).toBe('every evening.');
  });

  it('ignores awareness states that do not have the expected shape', () => {
    const mine = new Awareness(new Y.Doc());
    const stranger = new Awareness(new Y.Doc());
    stranger.setLocalState({ user: { partnerId: 42, name: '<script>' } });
    relay(stranger, mine);
    expect(new Presence(mine, alex).current).toEqual([]);
  });

  it("reads a peer whose name and id are within the model's limits, and ignores one beyond them", () => {
    const state = (partnerId: string, name: string) => ({
      user: { partnerId, name, color: '#336699' },
    });
    const seen = (partnerId: string, name: string) => {
      const mine = new Awareness(new Y.Doc());
      const theirs = new Awareness(new Y.Doc());
      theirs.setLocalState(state(partnerId, name));
      relay(theirs, mine);
      return new Presence(mine, alex).current.length;
    };
    const longest = '🌙'.repeat(Limits.displayName);
    expect(seen('partner-sam-000000', longest)).toBe(1);
    expect(seen('partner-sam-000000', `${longest}🌙`)).toBe(0);
    expect(seen('partner/sam/000000', 'Sam')).toBe(0);
  });

  it('does not count this device as the partner', () => {
    const mine = new Awareness(new Y.Doc());
    mine.setLocalState({
      user: { partnerId: 'me-0000000000000000', name: 'Alex', color: '#112233' },
    });
    expect(new Presence(mine, alex).current).toEqual([]);
  });
});
