// Types of frames.mjs for the TypeScript that imports it (tests/integration/fuzz.test.ts).
import type * as Y from 'yjs';

export declare function syncFrame(step: number, payload: Uint8Array): Uint8Array;
export interface FrameSource {
  nextUpdate(): Uint8Array;
  nextFrame(): Uint8Array;
  renew(): void;
}
export declare function createFrameSource(options: {
  seed: number;
  mirror: Y.Doc;
  spare?: ReadonlySet<number>;
}): FrameSource;
