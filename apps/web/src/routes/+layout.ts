// A single-page app: everything private lives in the browser, so nothing renders on a server and
// nothing is prerendered; the Mend server answers every page path with the fallback `200.html`.
export const ssr = false;
export const prerender = false;
