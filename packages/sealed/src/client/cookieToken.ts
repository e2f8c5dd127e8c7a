/**
 * The `token` of a membership made in the browser: there the space's HttpOnly cookie, which the
 * page cannot read, is the device's credential (the plaintext cookie becomes the device's token
 * when the space is sealed), and the membership only needs a non-empty placeholder. Its own
 * module so that what the session loads at once need not load the conversion with it.
 */
export const COOKIE_TOKEN = 'cookie';
