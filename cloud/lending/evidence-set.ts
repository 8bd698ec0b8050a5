import { type Kysely, type Selectable, sql } from "kysely";
import type { DB, GapsTable, StreamsTable } from "../db/schema.ts";
import { expandBlock } from "../quality/block-values.ts";
import type { QRow } from "../quality/types.ts";

/** Capture time: the corrected wall time where the cloud fixed an unsynchronised clock. */
const tExpr = sql<number>`coalesce(t_corrected, t_wall)`;

/** One stored record as the gates read it: the quality analysis's row, with when it arrived. */
export interface StoredRow extends QRow {
  receivedAt: number;
  /** The cloud corrected its capture time (t is t_corrected). */
  corrected: boolean;
}

/**
 * The evidence of a set of devices over a span, as the cloud had it at `asOf`, loaded in a fixed
 * number of queries: every record captured in [from, to], every herd event up to `to`, the records
 * still waiting for a clock (received since `receivedFrom`), the devices' streams and their gaps
 * received since `receivedFrom`. The gates and the quality analysis of any window inside it select
 * from it in memory (selectEvidence, qualityInputOf), so one tranche or a thousand cost the same
 * number of round trips.
 */
export interface EvidenceSet {
  /** Per device, oldest first (capture time, then seq). */
  rows: Map<string, StoredRow[]>;
  unplaced: Array<{ device: string; stream: string; seq: number; receivedAt: number }>;
  streams: Selectable<StreamsTable>[];
  gaps: GapsTable[];
}

export interface EvidenceSpan {
  devices: string[];
  from: number;
  to: number;
  asOf: number;
  receivedFrom: number;
}

export async function loadEvidenceSet(db: Kysely<DB>, s: EvidenceSpan): Promise<EvidenceSet> {
  const devices = [...new Set(s.devices)].sort();
  const set: EvidenceSet = { rows: new Map(), unplaced: [], streams: [], gaps: [] };
  if (devices.length === 0) return set;
  const rows = await db
    .selectFrom("records")
    .select([
      "device",
      "stream",
      "seq",
      "kind",
      "body",
      "received_at",
      tExpr.as("t"),
      sql<number>`case when t_corrected is null then 0 else 1 end`.as("corr"),
    ])
    .where("device", "in", devices)
    .where("received_at", "<=", s.asOf)
    .where(tExpr, "<=", s.to)
    .where((eb) => eb.or([eb(tExpr, ">=", s.from), eb("kind", "=", "event")]))
    .execute();
  for (const r of rows) {
    const list = set.rows.get(r.device) ?? [];
    list.push({
      device: r.device,
      stream: r.stream,
      seq: Number(r.seq),
      kind: r.kind,
      t: Number(r.t),
      body: JSON.parse(r.body) as Record<string, unknown>,
      receivedAt: Number(r.received_at),
      corrected: Number(r.corr) === 1,
    });
    set.rows.set(r.device, list);
  }
  for (const list of set.rows.values()) list.sort(byTime);
  set.unplaced = (
    await db
      .selectFrom("records")
      .select(["device", "stream", "seq", "received_at"])
      .where("device", "in", devices)
      .where("t_synced", "=", 0)
      .where("t_corrected", "is", null)
      .where("received_at", ">=", s.receivedFrom)
      .where("received_at", "<=", s.asOf)
      .execute()
  ).map((r) => ({
    device: r.device,
    stream: r.stream,
    seq: Number(r.seq),
    receivedAt: Number(r.received_at),
  }));
  set.streams = await db
    .selectFrom("streams")
    .selectAll()
    .where("device", "in", devices)
    .orderBy("device")
    .orderBy("stream")
    .execute();
  set.gaps = await db
    .selectFrom("gaps")
    .selectAll()
    .where("device", "in", devices)
    .where("received_at", ">=", s.receivedFrom)
    .where("received_at", "<=", s.asOf)
    .execute();
  return set;
}

/** Capture time, then seq, then device and stream: a total order, whatever order the database returned. */
export const byTime = (a: StoredRow, b: StoredRow) =>
  a.t - b.t ||
  a.seq - b.seq ||
  (a.device < b.device ? -1 : a.device > b.device ? 1 : 0) ||
  (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0);

/** The set's rows of `devices` that pass `keep`, oldest first. */
export function rowsOf(set: EvidenceSet, devices: string[], keep: (r: StoredRow) => boolean): StoredRow[] {
  const out: StoredRow[] = [];
  for (const d of new Set(devices)) for (const r of set.rows.get(d) ?? []) if (keep(r)) out.push(r);
  return devices.length > 1 ? out.sort(byTime) : out;
}

export interface EvidenceQuery {
  devices: string[];
  from: number;
  to: number;
  asOf: number;
  stream?: string;
  kind?: string;
}

/**
 * Records of `devices` captured in [from, to], as the cloud had received them by `asOf`, oldest
 * first, from a set loaded to cover the query. Asked for a sensor's `stream`, the answer includes
 * that sensor's values inside `block` records, as readings of the stream.
 */
export function selectEvidence(set: EvidenceSet, q: EvidenceQuery): StoredRow[] {
  if (q.devices.length === 0) return [];
  const inWindow = (r: StoredRow) => r.t >= q.from && r.t <= q.to && r.receivedAt <= q.asOf;
  const rows = rowsOf(
    set,
    q.devices,
    (r) => inWindow(r) && (!q.stream || r.stream === q.stream) && (!q.kind || r.kind === q.kind),
  );
  if (!q.stream || (q.kind && q.kind !== "reading")) return rows;
  const name = q.stream;
  const blocks = rowsOf(set, q.devices, (r) => inWindow(r) && r.kind === "block").flatMap((r) =>
    expandBlock(r, name),
  );
  if (blocks.length === 0) return rows;
  return [...rows, ...blocks].sort(byTime);
}
