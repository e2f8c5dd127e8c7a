/** The origin of every change a replica applies, so the provider does not send it back out. */
export const REMOTE: unique symbol = Symbol('mend-sealed-remote');

/**
 * The origin a document loaded from the device's store is applied with: what it holds was sealed
 * (or received) before, so the provider does not seal it again.
 */
export const STORED: unique symbol = Symbol('mend-sealed-stored');
