/**
 * The HTTP API as a client sees it: create a space, join it, and look at raw responses.
 */
import type { MendServer } from './server.js';

export interface CreatedSpace {
  readonly spaceId: string;
  readonly partnerId: string;
  readonly token: string;
  readonly inviteCode: string;
}

export interface JoinedSpace {
  readonly spaceId: string;
  readonly partnerId: string;
  readonly token: string;
}

/** A space with both partners in it, as the two devices hold it. */
export interface Couple {
  readonly spaceId: string;
  readonly inviteCode: string;
  readonly a: { readonly partnerId: string; readonly token: string };
  readonly b: { readonly partnerId: string; readonly token: string };
}

/** A response with its body read once, as text and (when it parses) as JSON. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
  readonly setCookies: readonly string[];
}

/** Sends `body` as-is when it is a string (to send malformed JSON), JSON-encoded otherwise. */
export async function postJson(
  server: Pick<MendServer, 'url'>,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readResponse(response);
}

export async function get(
  server: Pick<MendServer, 'url'>,
  path: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse> {
  return readResponse(await fetch(`${server.url}${path}`, { headers }));
}

export async function readResponse(response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: callers that expect JSON assert on `json` and see undefined.
  }
  return {
    status: response.status,
    headers: response.headers,
    text,
    json,
    setCookies: response.headers.getSetCookie(),
  };
}

export async function createSpace(
  server: Pick<MendServer, 'url'>,
  body: { displayName: string; name?: string } = { displayName: 'Alex' },
): Promise<CreatedSpace> {
  const response = await postJson(server, '/api/spaces', body);
  if (response.status !== 201) {
    throw new Error(`creating a space answered ${response.status}: ${response.text}`);
  }
  return pickStrings(response.json, ['spaceId', 'partnerId', 'token', 'inviteCode']);
}

export async function joinSpace(
  server: Pick<MendServer, 'url'>,
  spaceId: string,
  body: { inviteCode: string; displayName: string },
): Promise<JoinedSpace> {
  const response = await postJson(server, `/api/spaces/${spaceId}/join`, body);
  if (response.status !== 201) {
    throw new Error(`joining a space answered ${response.status}: ${response.text}`);
  }
  return pickStrings(response.json, ['spaceId', 'partnerId', 'token']);
}

/**
 * Creates a space as partner A and joins it as partner B, through `joinThrough` when given (another
 * node sharing the same storage) and through `server` otherwise.
 */
export async function createCouple(
  server: Pick<MendServer, 'url'>,
  joinThrough: Pick<MendServer, 'url'> = server,
): Promise<Couple> {
  const created = await createSpace(server, { displayName: 'Alex', name: 'Our space' });
  const joined = await joinSpace(joinThrough, created.spaceId, {
    inviteCode: created.inviteCode,
    displayName: 'Sam',
  });
  return {
    spaceId: created.spaceId,
    inviteCode: created.inviteCode,
    a: { partnerId: created.partnerId, token: created.token },
    b: { partnerId: joined.partnerId, token: joined.token },
  };
}

/** The server's Prometheus `/metrics`, from its metrics listener. */
export async function metrics(server: Pick<MendServer, 'metricsUrl'>): Promise<ApiResponse> {
  if (server.metricsUrl === null) throw new Error('this server has no metrics listener');
  return get({ url: server.metricsUrl }, '/metrics');
}

/** The value of an unlabelled gauge in the server's Prometheus `/metrics`. */
export async function gauge(server: Pick<MendServer, 'metricsUrl'>, name: string): Promise<number> {
  const response = await metrics(server);
  if (response.status !== 200) {
    throw new Error(`/metrics answered ${response.status}: ${response.text}`);
  }
  const line = response.text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is missing from /metrics`);
  return Number(line.slice(name.length + 1));
}

/**
 * Polls /metrics until the gauge reads `expected`: a room's unload is the server's internal grace
 * timer, and the metric is its observable state. Bounded well past the grace period.
 */
export async function waitForGauge(
  server: Pick<MendServer, 'metricsUrl'>,
  name: string,
  expected: number,
): Promise<void> {
  const deadline = performance.now() + 20_000;
  let value = await gauge(server, name);
  while (value !== expected && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await gauge(server, name);
  }
  if (value !== expected) {
    throw new Error(`${name} is still ${value} after waiting, expected ${expected}`);
  }
}

/**
 * The `name=value` pair a browser would send back to `/sync/<spaceId>`: the cookie the server set
 * for that space (named or scoped after it).
 */
export function spaceCookie(response: Pick<ApiResponse, 'setCookies'>, spaceId: string): string {
  const cookies = response.setCookies.map((header) => {
    const [pair = '', ...attributes] = header.split(';');
    return { pair: pair.trim(), attributes: attributes.join(';') };
  });
  const forSpace = cookies.find(
    ({ pair, attributes }) =>
      pair.slice(0, pair.indexOf('=')).includes(spaceId) || attributes.includes(spaceId),
  );
  const cookie = forSpace ?? cookies[0];
  if (!cookie) throw new Error('the response set no cookie');
  return cookie.pair;
}

function pickStrings<K extends string>(value: unknown, keys: readonly K[]): Record<K, string> {
  if (typeof value !== 'object' || value === null) {
    throw new Error(`expected a JSON object, got ${JSON.stringify(value)}`);
  }
  const result = {} as Record<K, string>;
  for (const key of keys) {
    const field: unknown = (value as Record<string, unknown>)[key];
    if (typeof field !== 'string') {
      throw new Error(`expected "${key}" to be a string in ${JSON.stringify(value)}`);
    }
    result[key] = field;
  }
  return result;
}
