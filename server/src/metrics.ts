import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type RejectReason =
  | 'text-frame'
  | 'too-big'
  | 'malformed'
  | 'invalid-update'
  | 'missing-dependencies'
  | 'malformed-awareness'
  | 'awareness-too-large'
  | 'awareness-not-owned'
  | 'rate-limited'
  | 'too-many-bytes'
  | 'space-full'
  | 'unexpected'
  | 'room-full'
  | 'unauthorized'
  | 'forbidden'
  // Sealed spaces (src/sealed): the socket and the upgrade.
  | 'sealed-mismatch'
  | 'sealed-now'
  | 'no-hello'
  | 'wrong-kind'
  | 'wrong-space'
  | 'not-the-author'
  | 'wrong-stream'
  | 'chain-conflict'
  | 'presence-too-large';

/** Buckets for the time to store or relay one update: half a millisecond to a second. */
const WRITE_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** The server's Prometheus metrics, on a registry of its own (several servers may share a process). */
export class Metrics {
  readonly registry = new Registry();
  readonly openSockets = new Gauge({
    name: 'mend_open_sockets',
    help: 'Sync sockets currently open',
    registers: [this.registry],
  });
  readonly loadedRooms = new Gauge({
    name: 'mend_loaded_rooms',
    help: 'Spaces currently loaded in memory',
    registers: [this.registry],
  });
  readonly messagesIn = new Counter({
    name: 'mend_messages_in_total',
    help: 'Sync messages received from sockets',
    registers: [this.registry],
  });
  readonly messagesOut = new Counter({
    name: 'mend_messages_out_total',
    help: 'Sync messages sent to sockets',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'mend_rejected_messages_total',
    help: 'Messages or connections refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly persistSeconds = new Histogram({
    name: 'mend_update_persist_seconds',
    help: 'Time to write one update durably',
    buckets: WRITE_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly relaySeconds = new Histogram({
    name: 'mend_update_relay_seconds',
    help: 'Time from receiving an update to relaying it to the other sockets (persist included)',
    buckets: WRITE_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly storedBytes = new Counter({
    name: 'mend_stored_update_bytes_total',
    help: 'Bytes of document updates written to storage',
    registers: [this.registry],
  });
  readonly roomWakes = new Counter({
    name: 'mend_room_wakes_total',
    help: 'Times an idle room rebuilt its live document from the encoded state',
    registers: [this.registry],
  });
  readonly clientIdChanges = new Counter({
    name: 'mend_room_client_id_changes_total',
    help: 'Times a room took a new Yjs client id because an update reused its own',
    registers: [this.registry],
  });
  readonly liveBytes = new Gauge({
    name: 'mend_room_held_bytes',
    help: 'Estimate of the memory loaded rooms hold (live documents and encoded states)',
    registers: [this.registry],
  });
  readonly memorySleeps = new Counter({
    name: 'mend_room_memory_sleeps_total',
    help: 'Rooms put to sleep early because loaded rooms held more than MEND_MAX_LIVE_BYTES',
    registers: [this.registry],
  });
  readonly memoryUnloads = new Counter({
    name: 'mend_room_memory_unloads_total',
    help: 'Rooms without sockets unloaded early because loaded rooms held more than MEND_MAX_LIVE_BYTES',
    registers: [this.registry],
  });
  readonly compactions = new Counter({
    name: 'mend_compactions_total',
    help: 'Update logs compacted into a snapshot',
    registers: [this.registry],
  });

  readonly sealedStored = new Counter({
    name: 'mend_sealed_envelopes_stored_total',
    help: 'Sealed envelopes stored (resends of stored ones are not counted)',
    registers: [this.registry],
  });
  readonly sealedStoredBytes = new Counter({
    name: 'mend_sealed_stored_bytes_total',
    help: 'Bytes of sealed envelopes written to storage',
    registers: [this.registry],
  });
  readonly sealedDuplicates = new Counter({
    name: 'mend_sealed_envelopes_resent_total',
    help: 'Sealed envelopes sent again by their device and acknowledged without storing',
    registers: [this.registry],
  });
  readonly sealedRelayed = new Counter({
    name: 'mend_sealed_envelopes_relayed_total',
    help: 'Sealed envelopes sent to sockets as they were stored (backlogs not included)',
    registers: [this.registry],
  });
  readonly sealedGapLoads = new Counter({
    name: 'mend_sealed_gap_loads_total',
    help: 'Times this process read sealed envelopes it had missed from storage before relaying',
    registers: [this.registry],
  });
  readonly sealedSnapshots = new Counter({
    name: 'mend_sealed_snapshots_total',
    help: 'Sealed snapshots submitted by devices, by result (stored, or the refusal reason)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly deviceLinks = new Counter({
    name: 'mend_device_links_total',
    help: 'Device link steps (offered, claimed, confirmed, collected, ended) and refusals (refused)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly deviceRoster = new Counter({
    name: 'mend_device_roster_total',
    help: 'Devices removed, epoch boxes left, recovery kits made, challenges issued, recoveries, and refused or limited recoveries',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mend_' });
  }

  reject(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }
}
