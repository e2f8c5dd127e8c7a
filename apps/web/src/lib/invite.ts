import { Limits } from '@mend/model';

/**
 * The invite link (docs/api.md, Ids, tokens and invites). Everything after `#` stays in the
 * browser, so the code never reaches a server log, and the inviter's name and the space's name
 * travel to the join page without the server storing or serving them. A sealed space's link
 * carries the invite secret as `s` (docs/protocol.md, "Invites"): it redeems the invite and
 * opens the welcome box with the space key; a plaintext space's carries the invite code.
 */
export function inviteLink(
  origin: string,
  spaceId: string,
  invite: { code: string; sealed: boolean },
  names: { from?: string | undefined; space?: string | undefined } = {},
): string {
  const fragment = new URLSearchParams(invite.sealed ? { s: invite.code } : { code: invite.code });
  if (names.from) fragment.set('from', names.from);
  if (names.space) fragment.set('space', names.space);
  return `${origin}/join/${spaceId}#${fragment.toString()}`;
}

export interface Invite {
  /** The invite code, or for a sealed space the invite secret; empty when the link has none. */
  readonly code: string;
  readonly sealed: boolean;
  /** Who sent the link, as the link says; anyone can write a link, so it is shown, never trusted. */
  readonly from: string | null;
  readonly spaceName: string | null;
}

// Control and direction-override characters could make a name read as something else.
// eslint-disable-next-line no-control-regex
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Untrusted text from a link: made plain, trimmed and cut to the model's limit for it. */
function shown(value: string | null, limit: number): string | null {
  if (value === null) return null;
  const plain = [...value.replace(UNSHOWABLE, '')].slice(0, limit).join('').trim();
  return plain === '' ? null : plain;
}

/** Reads an invite link's fragment (`location.hash`, with or without its `#`). */
export function readInvite(hash: string): Invite {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const secret = params.get('s');
  return {
    code: secret ?? params.get('code') ?? '',
    sealed: secret !== null,
    from: shown(params.get('from'), Limits.displayName),
    spaceName: shown(params.get('space'), Limits.spaceName),
  };
}
