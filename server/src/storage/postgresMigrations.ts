/**
 * Ordered schema changes of PostgresAdapter's tables (`schema_migrations` records which ran). An entry is never edited once released: a change is a new entry, so
 * every database walks the same path. Each runs in its own transaction with its version row.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `CREATE TABLE spaces (
     space_id       text PRIMARY KEY,
     name           text,
     created_at     bigint NOT NULL,
     invite_hash    bytea  NOT NULL,
     invite_used_at bigint
   );
   CREATE TABLE partners (
     partner_id   text PRIMARY KEY,
     space_id     text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     display_name text   NOT NULL,
     token_hash   bytea  NOT NULL UNIQUE,
     joined_at    bigint NOT NULL
   );
   CREATE INDEX partners_space_id ON partners (space_id);
   CREATE TABLE doc_updates (
     seq      bigserial PRIMARY KEY,
     space_id text  NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     data     bytea NOT NULL
   );
   CREATE INDEX doc_updates_space_seq ON doc_updates (space_id, seq);
   CREATE TABLE doc_snapshots (
     space_id  text   PRIMARY KEY REFERENCES spaces (space_id) ON DELETE CASCADE,
     data      bytea  NOT NULL,
     up_to_seq bigint NOT NULL
   );`,
  `CREATE TABLE doc_checks (
     partner_id     text    PRIMARY KEY REFERENCES partners (partner_id) ON DELETE CASCADE,
     schema_version integer NOT NULL
   );`,
  // Sealed spaces (docs/protocol.md): no name, devices instead of partner rows, and a log of
  // envelopes numbered per space. Stream heads live apart so they survive compaction.
  `ALTER TABLE spaces ADD COLUMN sealed boolean NOT NULL DEFAULT false;
   ALTER TABLE spaces ADD COLUMN welcome bytea;
   CREATE TABLE devices (
     space_id      text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     partner_id    text   NOT NULL,
     signing_key   bytea  NOT NULL,
     agreement_key bytea  NOT NULL,
     token_hash    bytea  NOT NULL UNIQUE,
     added_at      bigint NOT NULL,
     PRIMARY KEY (space_id, signing_key)
   );
   CREATE TABLE sealed_envelopes (
     space_id text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     seq      bigint NOT NULL,
     stream   bigint NOT NULL,
     counter  bigint NOT NULL,
     hash     bytea  NOT NULL,
     data     bytea  NOT NULL,
     PRIMARY KEY (space_id, seq)
   );
   CREATE UNIQUE INDEX sealed_envelopes_by_stream ON sealed_envelopes (space_id, stream, counter);
   CREATE TABLE sealed_streams (
     space_id text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     stream   bigint NOT NULL,
     author   bytea  NOT NULL,
     counter  bigint NOT NULL,
     hash     bytea  NOT NULL,
     PRIMARY KEY (space_id, stream)
   );
   CREATE TABLE sealed_snapshots (
     space_id   text   PRIMARY KEY REFERENCES spaces (space_id) ON DELETE CASCADE,
     covers_seq bigint NOT NULL,
     data       bytea  NOT NULL
   );`,
  // The welcome box handed over before the join, to a device that may retry (docs/api.md).
  `ALTER TABLE spaces ADD COLUMN welcome_taken_at bigint;`,
  // A device removed from its space (docs/api.md, DELETE /sync/:spaceId): its row stays (the seat
  // and the sealed membership log still name it), its token finds nothing any more.
  `ALTER TABLE partners ADD COLUMN revoked_at bigint;
   ALTER TABLE devices ADD COLUMN revoked_at bigint;`,
  // A converted plaintext space (docs/protocol.md): the box of the space key the converting
  // device left for each other device, which it fetches with GET /sync/:id/key.
  `ALTER TABLE devices ADD COLUMN key_box bytea;`,
  // Linking a device (docs/protocol.md): a seat's offer, the new device's claim, the seat's
  // confirmation with the link box, and its collection. Codes only as SHA-256 hashes.
  `CREATE TABLE device_links (
     link_id       text   PRIMARY KEY,
     space_id      text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     partner_id    text   NOT NULL,
     code_hash     bytea  NOT NULL,
     created_at    bigint NOT NULL,
     expires_at    bigint NOT NULL,
     state         text   NOT NULL CHECK (state IN ('open', 'claimed', 'confirmed', 'ended')),
     claim_hash    bytea,
     signing_key   bytea,
     agreement_key bytea,
     box           bytea,
     link_seq      bigint,
     confirmed_at  bigint,
     collected_at  bigint
   );
   CREATE INDEX device_links_by_code ON device_links (space_id, code_hash);`,
  // Removing a device and the recovery kit (docs/protocol.md, issue 13): when a device's sealed
  // socket last authenticated, who removed it, and a seat's recovery device with its kit box;
  // recovery challenges (SHA-256 only) and failed recovery attempts, per space.
  `ALTER TABLE devices ADD COLUMN last_seen_at bigint;
   ALTER TABLE devices ADD COLUMN revoked_by bytea;
   ALTER TABLE devices ADD COLUMN recovery boolean NOT NULL DEFAULT false;
   ALTER TABLE devices ADD COLUMN recovery_box bytea;
   ALTER TABLE devices ADD COLUMN recovery_link_seq bigint;
   CREATE TABLE recovery_challenges (
     space_id       text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     challenge_hash bytea  NOT NULL,
     expires_at     bigint NOT NULL,
     PRIMARY KEY (space_id, challenge_hash)
   );
   CREATE TABLE recovery_failures (
     space_id text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     at       bigint NOT NULL
   );
   CREATE INDEX recovery_failures_by_space ON recovery_failures (space_id, at);`,
  // Catching up across a key change (docs/protocol.md): the boxes of a new epoch's key left for
  // each device, the highest epoch only, at most four writers; they go with their device's row
  // and with its revocation.
  `CREATE TABLE epoch_boxes (
     space_id    text   NOT NULL,
     signing_key bytea  NOT NULL,
     epoch       bigint NOT NULL,
     writer      bytea  NOT NULL,
     box         bytea  NOT NULL,
     PRIMARY KEY (space_id, signing_key, epoch, writer),
     FOREIGN KEY (space_id, signing_key) REFERENCES devices (space_id, signing_key) ON DELETE CASCADE
   );`,
  // Returning to a seat (docs/protocol.md, issue 13): the seat a link adds a device to, the
  // offering seat's own or, for a return link, the other partner's. Earlier links are own links.
  `ALTER TABLE device_links ADD COLUMN target_partner_id text;
   UPDATE device_links SET target_partner_id = partner_id;
   ALTER TABLE device_links ALTER COLUMN target_partner_id SET NOT NULL;`,
];
