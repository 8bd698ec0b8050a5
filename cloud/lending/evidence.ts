import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { citesOf, num } from "../quality/cite.ts";
import type { RecordRange } from "./decision-types.ts";
import { type EvidenceQuery, loadEvidenceSet, type StoredRow, selectEvidence } from "./evidence-set.ts";

export type EvidenceRow = StoredRow;

/**
 * Records of the batch's devices in [from, to], as the cloud had received them by `asOf`, oldest
 * first. `received_at ≤ asOf` keeps a decision reproducible: evidence that arrived later cannot
 * change what the gate saw. Asked for a sensor's `stream`, the answer includes that sensor's values
 * inside `block` records (a Modbus register block read as one record), as readings of the stream.
 * The gates select the same from the evidence set loaded for all due tranches (evidence-set.ts);
 * this is that selection over a set loaded for the one query.
 */
export async function readEvidence(db: Kysely<DB>, q: EvidenceQuery): Promise<EvidenceRow[]> {
  const set = await loadEvidenceSet(db, { ...q, receivedFrom: q.asOf + 1 });
  return selectEvidence(set, q);
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
