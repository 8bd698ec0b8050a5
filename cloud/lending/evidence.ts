import { type Kysely, sql } from "kysely";
import type { DB } from "../db/schema.ts";
import { blockLike, expandBlock } from "../quality/block-values.ts";
import { citesOf, num } from "../quality/cite.ts";
import type { RecordRange } from "./decision-types.ts";

export interface EvidenceRow {
  device: string;
  stream: string;
  /** Set when the row is one value of a stored `block` record: that record's stream. */
  recordStream?: string;
  seq: number;
  kind: string;
  t: number;
  body: Record<string, unknown>;
}

/** Capture time: the corrected wall time where the cloud fixed an unsynchronised clock. */
const tExpr = sql<number>`coalesce(t_corrected, t_wall)`;

/**
 * Records of the batch's devices in [from, to], as the cloud had received them by `asOf`, oldest
 * first. `received_at ≤ asOf` keeps a decision reproducible: evidence that arrived later cannot
 * change what the gate saw. Asked for a sensor's `stream`, the answer includes that sensor's values
 * inside `block` records (a Modbus register block read as one record), as readings of the stream.
 */
export async function readEvidence(
  db: Kysely<DB>,
  q: { devices: string[]; from: number; to: number; asOf: number; stream?: string; kind?: string },
): Promise<EvidenceRow[]> {
  if (q.devices.length === 0) return [];
  const base = () =>
    db
      .selectFrom("records")
      .select(["device", "stream", "seq", "kind", "body", tExpr.as("t")])
      .where("device", "in", q.devices)
      .where(tExpr, ">=", q.from)
      .where(tExpr, "<=", q.to)
      .where("received_at", "<=", q.asOf);
  let sel = base();
  if (q.stream) sel = sel.where("stream", "=", q.stream);
  if (q.kind) sel = sel.where("kind", "=", q.kind);
  const rows: EvidenceRow[] = (await sel.orderBy(tExpr).orderBy("seq").execute()).map(toRow);
  if (!q.stream || (q.kind && q.kind !== "reading")) return rows;
  const name = q.stream;
  const blocks = await base().where("kind", "=", "block").where("body", "like", blockLike(name)).execute();
  if (blocks.length === 0) return rows;
  const all = [...rows, ...blocks.map(toRow).flatMap((r) => expandBlock(r, name))];
  return all.sort((a, b) => a.t - b.t || a.seq - b.seq);
}

function toRow(r: { device: string; stream: string; seq: unknown; kind: string; body: string; t: unknown }) {
  return {
    device: r.device,
    stream: r.stream,
    seq: Number(r.seq),
    kind: r.kind,
    t: Number(r.t),
    body: JSON.parse(r.body) as Record<string, unknown>,
  };
}

/** The seq and time ranges a gate read, per device and stream: what a decision cites (as a finding does). */
export const rangesOf: (rows: EvidenceRow[]) => RecordRange[] = citesOf;

export const numericValue: (r: EvidenceRow) => number | null = num;

/** Groups consecutive silo rises (steps above `minStepKg`, within 3 h of each other) into delivery events. */
export function riseEvents(rows: EvidenceRow[], minStepKg: number): Array<{ t: number; kg: number }> {
  const out: Array<{ t: number; kg: number }> = [];
  let last: EvidenceRow | undefined;
  for (const r of rows) {
    const v = numericValue(r);
    if (v === null) continue;
    const pv = last ? numericValue(last) : null;
    if (last && pv !== null && v - pv > minStepKg) {
      const ev = out[out.length - 1];
      if (ev && r.t - ev.t <= 3 * 3_600_000) {
        ev.kg += v - pv;
        ev.t = r.t;
      } else out.push({ t: r.t, kg: v - pv });
    }
    last = r;
  }
  return out;
}

export const hours = (ms: number) => Math.round((ms / 3_600_000) * 10) / 10;
