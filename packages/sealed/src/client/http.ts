/*
 * The sealed client's HTTP requests (docs/api.md): JSON in and out, the browser's cookie or a
 * Bearer token as the credential, a lost answer sent again. `fetch` is injectable so the
 * browser, Node tests and the bench share it.
 */

export class SealedApiError extends Error {
  override readonly name = 'SealedApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiOptions {
  /** The server's origin, e.g. `http://127.0.0.1:8787`; empty for the page's own. */
  readonly baseUrl?: string;
  readonly fetch?: Fetch;
  /** Pauses before sending a request again after a lost answer (tests shorten them). */
  readonly retryPausesMs?: readonly number[];
}

/**
 * Sends a request again after a lost answer: the network failed (fetch rejected) or the server
 * answered 502, 503 or 504. Three more tries, 0.5, 1 and 2 s apart; any other answer is final.
 */
export async function again<T>(options: ApiOptions, request: () => Promise<T>): Promise<T> {
  const pauses = options.retryPausesMs ?? [500, 1000, 2000];
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const lost =
        error instanceof TypeError ||
        (error instanceof SealedApiError && [502, 503, 504].includes(error.status));
      const pause = pauses[attempt];
      if (!lost || pause === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * POSTs `body` as JSON and reads the JSON answer; a status other than 2xx rejects with a
 * SealedApiError carrying the server's `error` message. The page's cookie goes with it
 * (`same-origin`); `token`, when given, goes as `Authorization: Bearer` (Node clients).
 */
export async function post<T>(
  options: ApiOptions,
  path: string,
  body: unknown,
  token: string | null = null,
): Promise<T> {
  return (await postAnswer<T>(options, path, body, token)).body;
}

/** `post`, keeping the answer's status (2xx) beside its body: 201 and 202 say different things. */
export function postAnswer<T>(
  options: ApiOptions,
  path: string,
  body: unknown,
  token: string | null = null,
): Promise<{ status: number; body: T }> {
  return request<T>(options, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
}

/** GETs `path` and reads the JSON answer, as `post` does. */
export async function get<T>(
  options: ApiOptions,
  path: string,
  token: string | null = null,
): Promise<T> {
  return (await request<T>(options, path, { method: 'GET', headers: bearer(token) })).body;
}

/** PUTs `body` as JSON; resolves on any 2xx (a 204 has no body). */
export async function put(
  options: ApiOptions,
  path: string,
  body: unknown,
  token: string | null = null,
): Promise<void> {
  await request<unknown>(options, path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });
}

/** DELETEs `path`; resolves on any 2xx (a 204 has no body). */
export async function del(
  options: ApiOptions,
  path: string,
  token: string | null = null,
): Promise<void> {
  await request<unknown>(options, path, { method: 'DELETE', headers: bearer(token) });
}

async function request<T>(
  options: ApiOptions,
  path: string,
  init: RequestInit,
): Promise<{ status: number; body: T }> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await fetchImpl(`${options.baseUrl ?? ''}${path}`, {
    ...init,
    credentials: 'same-origin',
  });
  const json = (await response.json().catch(() => null)) as { error?: string } | null;
  if (!response.ok) {
    throw new SealedApiError(
      response.status,
      json?.error ?? `The server answered ${response.status}.`,
    );
  }
  return { status: response.status, body: json as T };
}

function bearer(token: string | null): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}
