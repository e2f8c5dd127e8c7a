// Test support only (excluded from the build): the server's device routes as a client sees them
// over `fetch` (docs/api.md, "Removing a device", "Epoch boxes"), kept in memory.
import type { PartnerId } from '@mend/protocol';
import { spaceId } from './sealedSpace.js';

export interface DeviceRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly body: unknown;
}

/**
 * DELETE …/devices/:signingKey marks a device of the space revoked, 204, and 204 again for one
 * revoked before; 404 for a device the space never had. PUT …/epoch-boxes keeps, for each
 * device, the boxes of the highest epoch it was given; GET …/epoch-boxes hands the caller its
 * own (callers are told apart by token, their device by `callers`). 401 without a known credential.
 */
export class FakeDeviceRoutes {
  readonly requests: DeviceRequest[] = [];
  readonly revoked = new Set<string>();
  /** Boxes left, by device (base64url signing key). */
  readonly boxes = new Map<string, { epoch: number; box: string }[]>();
  /** The next request is carried out but its answer is lost (fetch rejects). */
  loseNextAnswer = false;
  /** Answers every epoch-boxes request with this status while set (a server in trouble). */
  boxesStatus: number | null = null;
  /** Runs when a DELETE arrives, before it is answered (a race to stage). */
  onDelete: (() => void) | null = null;

  constructor(
    readonly devices: ReadonlySet<string>,
    /** Token (or `cookie`) → the caller's seat and device. */
    readonly callers: Readonly<Record<string, { partnerId: PartnerId; device: string }>>,
  ) {}

  readonly fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url, 'http://mend.test').pathname;
    const headers = new Headers(init.headers);
    const authorization = headers.get('authorization');
    const method = init.method ?? 'GET';
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : null;
    this.requests.push({ method, path, authorization, body });
    const caller = this.callers[authorization?.replace(/^Bearer /, '') ?? 'cookie'];
    const device = /^\/(?:api\/sealed-spaces|sync)\/([^/]+)\/devices\/([^/]+)$/.exec(path);
    const boxes = /^\/(?:api\/sealed-spaces|sync)\/([^/]+)\/epoch-boxes$/.exec(path);
    let response: Response;
    if (!caller) response = json(401, { error: 'Who are you?' });
    else if (boxes && boxes[1] === spaceId)
      response = this.#epochBoxes(method, body, caller.device);
    else if (!device || device[1] !== spaceId || method !== 'DELETE') {
      response = json(404, { error: 'No such route.' });
    } else if (!this.devices.has(device[2]!)) {
      response = json(404, { error: 'No such device in this space.' });
    } else {
      this.revoked.add(device[2]!);
      this.onDelete?.();
      this.onDelete = null;
      response = new Response(null, { status: 204 });
    }
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError('fetch failed');
    }
    return response;
  };

  /** Leaves boxes as a device that wrote an epoch statement would (`{signingKey, box}` base64url). */
  leave(epoch: number, boxes: readonly { signingKey: string; box: string }[]): void {
    for (const { signingKey, box } of boxes) {
      const kept = (this.boxes.get(signingKey) ?? []).filter((b) => b.epoch >= epoch);
      this.boxes.set(signingKey, [...kept, { epoch, box }]);
    }
  }

  #epochBoxes(method: string, body: unknown, device: string): Response {
    if (this.boxesStatus !== null) return json(this.boxesStatus, { error: 'Not now.' });
    if (method === 'GET') return json(200, { boxes: this.boxes.get(device) ?? [] });
    if (method !== 'PUT') return json(404, { error: 'No such route.' });
    const { epoch, boxes } = body as {
      epoch: number;
      boxes: { signingKey: string; box: string }[];
    };
    this.leave(epoch, boxes);
    return new Response(null, { status: 204 });
  }
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
