import { codePoints } from '@mend/model';

/**
 * How a name stands against its limit in `Limits`, counted as the model counts (code points of
 * the trimmed text). The name fields carry no `maxlength`: the browser counts UTF-16 units, so
 * it would cut an emoji name at half its allowed length, and it cuts a paste without a word.
 */
export type NameLength =
  | { readonly kind: 'fine' }
  | { readonly kind: 'near'; readonly left: number }
  | { readonly kind: 'over'; readonly by: number };

/** The counter appears this many characters before the limit, so it is there when it matters. */
const NEAR = 10;

export function nameLength(text: string, limit: number): NameLength {
  const length = codePoints(text.trim());
  if (length > limit) return { kind: 'over', by: length - limit };
  if (limit - length <= NEAR) return { kind: 'near', left: limit - length };
  return { kind: 'fine' };
}

function characters(n: number): string {
  return n === 1 ? '1 character' : `${n} characters`;
}

/** The calm line under a name field: a count near the limit, what to do past it. */
export function nameLengthHint(text: string, limit: number): string {
  const state = nameLength(text, limit);
  switch (state.kind) {
    case 'fine':
      return '';
    case 'near':
      return `${characters(state.left)} left.`;
    case 'over':
      return `${characters(state.by)} too long: this can be up to ${characters(limit)}.`;
  }
}

/** Why a form with this name cannot be saved yet, or null when it can. */
export function nameTooLong(what: string, text: string, limit: number): string | null {
  const state = nameLength(text, limit);
  return state.kind === 'over'
    ? `${what} is ${characters(state.by)} too long. Please shorten it to ${characters(limit)} or fewer.`
    : null;
}
