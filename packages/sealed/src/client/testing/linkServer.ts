// Test support only (excluded from the build): the server's part of linking a device as the
// linking client sees it over `fetch` (docs/protocol.md, "Linking a device"), in memory. It
// keeps what the protocol says the server keeps (the link code, the seat, the claim, the box;
// `seat: "partner"` for a return link, "Returning to a seat")
// and checks what the client must get right; storage, expiry times and rate limits are the real
// server's.
import type { PartnerId, SpaceId } from '@mend/protocol';

interface Link {
  readonly linkId: string;
  readonly linkCode: string;
  /** The offering seat: the link's status, confirm and end are its. */
  readonly partnerId: PartnerId;
  /** The seat the claiming device joins: the offering one, or the other for a return link. */
  readonly joins: PartnerId;
  state: 'open' | 'claimed' | 'confirmed' | 'ended';
  claim: { claimCode: string; signingKey: string; agreementKey: string } | null;
  confirmed: { box: string; linkSeq: number } | null;
}

export interface LinkRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown> | null;
}

export class FakeLinkServer {
  readonly requests: LinkRequest[] = [];
  readonly links: Link[] = [];
  /** Tokens handed to linked devices, with the seat each names. */
  readonly issued = new Map<string, PartnerId>();
  /** The next request to a path ending so is handled, but its answer is lost (fetch rejects). */
  loseAnswerTo: string | null = null;
  /** Replaces the device keys the server reports for a claim, as a server that swaps them would. */
  substitute: { signingKey: string; agreementKey: string } | null = null;
  #next = 0;

  /**
   * `callers`: who each Bearer token is (the cookie, when no token is sent, is `cookie`);
   * `creator`: the creating device's public keys, as the server names them.
   */
  constructor(
    readonly spaceId: SpaceId,
    readonly callers: Readonly<Record<string, PartnerId>>,
    readonly creator: { readonly signingKey: string; readonly agreementKey: string },
  ) {}

  readonly fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url, 'http://mend.test').pathname;
    const method = init.method ?? 'GET';
    const body =
      typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : null;
    this.requests.push({ method, path, body });
    const response = this.#route(method, path, body, new Headers(init.headers));
    if (this.loseAnswerTo !== null && path.endsWith(this.loseAnswerTo)) {
      this.loseAnswerTo = null;
      throw new TypeError('fetch failed');
    }
    return response;
  };

  #route(method: string, path: string, body: Record<string, unknown> | null, headers: Headers) {
    const base = `/api/sealed-spaces/${this.spaceId}/links`;
    if (!path.startsWith(base)) return answer(404, { error: 'No such space.' });
    const rest = path.slice(base.length);
    if (method === 'POST' && rest === '/claim') return this.#claim(body!);
    const caller = this.callers[headers.get('authorization')?.replace(/^Bearer /, '') ?? 'cookie'];
    if (!caller) return answer(401, { error: 'Who are you?' });
    if (method === 'POST' && rest === '') return this.#offer(caller, body!);
    const [, linkId, action] = /^\/([^/]+)(\/confirm)?$/.exec(rest) ?? [];
    const link = this.links.find((l) => l.linkId === linkId && l.partnerId === caller);
    if (!link) return answer(404, { error: 'This link no longer works.' });
    if (method === 'GET' && !action) {
      const device = link.claim && (this.substitute ?? link.claim);
      return answer(200, {
        state: link.state,
        ...(device
          ? { device: { signingKey: device.signingKey, agreementKey: device.agreementKey } }
          : {}),
      });
    }
    if (method === 'DELETE' && !action) {
      link.state = 'ended';
      return new Response(null, { status: 204 });
    }
    if (method === 'POST' && action) {
      if (link.state !== 'claimed') return answer(409, { error: 'Nothing to confirm.' });
      link.state = 'confirmed';
      link.confirmed = { box: String(body!['box']), linkSeq: Number(body!['linkSeq']) };
      return new Response(null, { status: 204 });
    }
    return answer(404, { error: 'No such route.' });
  }

  #offer(caller: PartnerId, body: Record<string, unknown>): Response {
    const returning = body['seat'] === 'partner';
    if (body['seat'] !== undefined && !returning) return answer(400, { error: 'Which seat?' });
    const joins = returning
      ? Object.values(this.callers).find((partnerId) => partnerId !== caller)
      : caller;
    if (!joins) return answer(409, { error: 'No other seat.' });
    for (const l of this.links) {
      const sameKind = (l.joins === l.partnerId) === !returning;
      if (l.partnerId === caller && sameKind && l.state !== 'confirmed') l.state = 'ended';
    }
    const linkId = `link${String(++this.#next).padStart(18, '0')}`;
    this.links.push({
      linkId,
      linkCode: String(body['linkCode']),
      partnerId: caller,
      joins,
      state: 'open',
      claim: null,
      confirmed: null,
    });
    return answer(201, { linkId });
  }

  #claim(body: Record<string, unknown>): Response {
    const link = this.links.find((l) => l.linkCode === body['linkCode'] && l.state !== 'ended');
    if (!link) return answer(404, { error: 'This link no longer works.' });
    const claim = {
      claimCode: String(body['claimCode']),
      signingKey: String(body['signingKey']),
      agreementKey: String(body['agreementKey']),
    };
    if (link.claim === null) {
      link.claim = claim;
      link.state = 'claimed';
    } else if (JSON.stringify(link.claim) !== JSON.stringify(claim)) {
      return answer(409, { error: 'Another device used this link.' });
    }
    if (link.state !== 'confirmed' || !link.confirmed) {
      return answer(202, { linkId: link.linkId, state: 'claimed' });
    }
    const token = `linked-${++this.#next}`;
    this.issued.set(token, link.joins);
    return answer(201, {
      spaceId: this.spaceId,
      partnerId: link.joins,
      token,
      box: link.confirmed.box,
      creator: this.creator,
      linkSeq: link.confirmed.linkSeq,
    });
  }
}

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
