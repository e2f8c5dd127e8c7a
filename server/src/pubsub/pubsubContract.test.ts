import { MemoryPubSub, MemoryPubSubHub } from './MemoryPubSub.js';
import { definePubSubContract } from './pubsubContract.testkit.js';

// The Redis adapter runs the same suite in RedisPubSub.test.ts, against the real service.
definePubSubContract('in-memory', async () => {
  const hub = new MemoryPubSubHub();
  const nodes: MemoryPubSub[] = [];
  return {
    node: async () => {
      const node = new MemoryPubSub(hub);
      nodes.push(node);
      return node;
    },
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
});
