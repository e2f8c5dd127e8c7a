import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `limit` bytes that must arrive within `timeoutMs` of the call.
 * Node's requestTimeout alone would let a client trickle a small body for half a minute while
 * holding a connection and a pending request each time; this deadline is short and per body.
 * On 'too-large' or 'too-slow' reading stops; the caller answers and closes the connection.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  timeoutMs: number,
): Promise<Buffer | 'too-large' | 'too-slow'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (outcome: Buffer | 'too-large' | 'too-slow' | Error): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (outcome instanceof Error) reject(outcome);
      else {
        if (!Buffer.isBuffer(outcome)) req.pause();
        resolve(outcome);
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limit) finish('too-large');
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks));
    const onError = (error: Error): void => finish(error);
    const timer = setTimeout(() => finish('too-slow'), timeoutMs);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
