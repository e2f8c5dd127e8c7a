import { Role } from '@mend/model';

/**
 * The role a person picked on the start screen, held until this device has the space's document
 * and can write it through the model (the create request itself does not carry a role).
 */
export const pendingRole = {
  set(spaceId: string, role: Role): void {
    localStorage.setItem(`mend:role:${spaceId}`, role);
  },
  take(spaceId: string): Role | null {
    const key = `mend:role:${spaceId}`;
    const value = localStorage.getItem(key);
    localStorage.removeItem(key);
    return value === Role.hurt || value === Role.repairing ? value : null;
  },
};
