// Test support only (excluded from the build): the server's part of converting a plaintext space
// as the conversion client sees it over `fetch` (docs/protocol.md, "Converting a plaintext
// space"), over a MemoryLog the sealed FakeServer then serves. It checks what the client must
// get right (the devices are the space's partners, the envelopes are the caller's and chain)
// and nothing a real server adds (storage, rate limits).
import type { PartnerId } from '@mend/protocol';
import { decodeEnvelope } from '@mend/protocol';
import { equalBytes, fromBase64Url } from '../../bytes.js';
import type { MemoryLog } from './sealedSpace.js';

interface SealBody {
  devices: { partnerId: PartnerId; signingKey: string; agreementKey: string; box?: string }[];
  envelopes: string[];
  invite?: { inviteCode: string; welcome: string };
}

export interface SealRequest {
  readonly url: string;
  readonly init: RequestInit;
}

export class FakeSealServer {
  readonly requests: SealRequest[] = [];
  sealed: (SealBody & { by: PartnerId }) | null = null;
  /** The next seal is stored, but its answer is lost on the way (fetch rejects). */
  loseNextAnswer = false;

  /**
   * `partners`: the space's partners; `callers`: who each Bearer token is (the cookie, when no
   * token is sent, is `cookie`).
   */
  constructor(
    readonly log: MemoryLog,
    readonly partners: readonly PartnerId[],
    readonly callers: Readonly<Record<string, PartnerId>>,
  ) {}

  readonly fetch = async (url: string, init: RequestInit): Promise<Response> => {
    this.requests.push({ url, init });
    const auth = new Headers(init.headers).get('authorization');
    const caller = this.callers[auth?.replace(/^Bearer /, '') ?? 'cookie'];
    if (!caller) return answer(401, { error: 'Who are you?' });
    const path = new URL(url, 'http://mend.test').pathname;
    if (init.method === 'POST' && path.endsWith('/seal')) return this.#seal(caller, init);
    if (init.method === 'GET' && path.endsWith('/key')) return this.#key(caller);
    return answer(404, { error: 'No such route.' });
  };

  #seal(caller: PartnerId, init: RequestInit): Response {
    if (this.sealed) return answer(409, { error: 'This space is end-to-end encrypted already.' });
    const body = JSON.parse(String(init.body)) as SealBody;
    const listed = body.devices.map((d) => d.partnerId).sort();
    if (listed.join() !== [...this.partners].sort().join()) {
      return answer(409, { error: 'The devices are not the space’s partners.' });
    }
    const mine = body.devices.find((d) => d.partnerId === caller)!;
    const [member, genesis] = body.envelopes.map((e) => fromBase64Url(e));
    const [m, g] = [decodeEnvelope(member!), decodeEnvelope(genesis!)];
    const author = fromBase64Url(mine.signingKey, 32);
    if (!equalBytes(m.author, author) || !equalBytes(g.author, author) || g.stream !== m.stream) {
      return answer(400, { error: 'The envelopes are not the caller’s.' });
    }
    this.sealed = { ...body, by: caller };
    this.log.append(member!);
    this.log.append(genesis!);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError('fetch failed');
    }
    return answer(200, { seq: 2 });
  }

  #key(caller: PartnerId): Response {
    const sealed = this.sealed;
    if (!sealed) return answer(409, { error: 'This space is not end-to-end encrypted yet.' });
    const creator = sealed.devices.find((d) => d.partnerId === sealed.by)!;
    const mine = sealed.devices.find((d) => d.partnerId === caller)!;
    return answer(200, {
      box: mine.box ?? null,
      creator: { signingKey: creator.signingKey, agreementKey: creator.agreementKey },
    });
  }
}

function answer(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
