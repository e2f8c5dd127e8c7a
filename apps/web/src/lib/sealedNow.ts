/**
 * That this device just moved a space made before sealed spaces over to end-to-end encryption
 * (docs/protocol.md, "Converting a plaintext space"): held until the person has read the notice
 * that says so (SpaceNotices), so it survives the page opening the space again.
 */
export const sealedNow = {
  mark(spaceId: string): void {
    try {
      localStorage.setItem(key(spaceId), '1');
    } catch {
      // Storage refused: the notice is a courtesy, the space is sealed either way.
    }
  },
  shown(spaceId: string): boolean {
    try {
      return localStorage.getItem(key(spaceId)) !== null;
    } catch {
      return false;
    }
  },
  dismiss(spaceId: string): void {
    try {
      localStorage.removeItem(key(spaceId));
    } catch {
      // As above.
    }
  },
};

function key(spaceId: string): string {
  return `mend:sealed-now:${spaceId}`;
}
