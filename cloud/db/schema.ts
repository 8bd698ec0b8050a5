import type { Generated } from "kysely";
import type { EnrolTables } from "../enrol/migration.ts";
import type { FleetTables } from "../fleet/migration.ts";
import type { LendingTables } from "../lending/schema.ts";
import type { ModelsTables } from "../models/migration.ts";
import type { PatrolTables } from "../patrol/migration.ts";
import type { QualityTables } from "../quality/schema.ts";

/** Table types for Kysely. Each module adds its tables here (after its migration). */
export interface DevicesTable {
  id: string;
  public_key: string;
  name: string | null;
  registered_at: number;
  revoked_at: number | null;
}

export interface RecordsTable {
  device: string;
  stream: string;
  seq: number;
  kind: string;
  t_wall: number;
  t_boot: string;
  t_mono: number;
  t_synced: number;
  /** Wall time corrected from a later synchronised time of the same boot (issue: RTC-less Pis). */
  t_corrected: number | null;
  /** The body as canonical JSON text. */
  body: string;
  prev: string;
  hash: string;
  received_at: number;
}

export interface StreamsTable {
  device: string;
  stream: string;
  committed_seq: number;
  max_seq: number;
  count: number;
  chain_ok: number;
  chain_error: string | null;
  last_seen: number | null;
  head_seq: number | null;
  head_hash: string | null;
  head_sig: string | null;
  /** The stream's current generation (0 until a declared restart) and where its seq 1 is stored. */
  generation: Generated<number>;
  seq_base: Generated<number>;
}

/** One declared restart of a stream (#15): what the cloud had of the generation it closed. */
export interface StreamRestartsTable {
  device: string;
  stream: string;
  generation: number;
  seq_base: number;
  old_generation: number;
  old_committed: number;
  old_max: number;
  old_head_hash: string | null;
  /** Seqs of the closed generation the cloud never received, up to the highest it saw. */
  missing: number;
  declared_at: number;
}

export interface GapsTable {
  device: string;
  stream: string;
  from_seq: number;
  to_seq: number;
  count: number;
  reason: string;
  prev: string;
  hash: string;
  received_at: number;
}

/** Wall minus monotonic time of a boot, from its first synchronised record (migration 0002). */
export interface BootClocksTable {
  device: string;
  boot: string;
  offset_ms: number;
  learnt_at: number;
}

export interface RejectsTable {
  id: Generated<number>;
  device: string | null;
  topic: string;
  code: string;
  reason: string;
  payload_b64: string | null;
  payload_bytes: number;
  received_at: number;
  /** SHA-256 (hex) of the whole payload; payload_b64 keeps only its first bytes. */
  payload_sha256: string | null;
  /** Rejects of the same device counted but not sampled before this row (over a cap). */
  suppressed: Generated<number>;
}

export interface DeviceCommandsTable {
  id: string;
  device: string;
  name: string;
  message: string;
  created_at: number;
  expires_at: number;
  sends: number;
  last_sent_at: number;
  done_at: number | null;
  outcome: string | null;
}

export interface BrokerCredentialsTable {
  id: string;
  device: string;
  password_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** An instance of a cloud in device-affine ingest routing, and its last heartbeat (migration 0500). */
export interface IngestMembersTable {
  instance: string;
  heartbeat_at: number;
  started_at: number;
}

export interface DB
  extends LendingTables,
    QualityTables,
    PatrolTables,
    EnrolTables,
    ModelsTables,
    FleetTables {
  broker_credentials: BrokerCredentialsTable;
  device_commands: DeviceCommandsTable;
  devices: DevicesTable;
  records: RecordsTable;
  streams: StreamsTable;
  stream_restarts: StreamRestartsTable;
  gaps: GapsTable;
  rejects: RejectsTable;
  boot_clocks: BootClocksTable;
  ingest_members: IngestMembersTable;
}
