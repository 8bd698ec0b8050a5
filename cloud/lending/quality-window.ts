import { analyse } from "../quality/analyse.ts";
import { assembleQualityInput, type QualityWindow } from "../quality/load.ts";
import { parseQualityParams } from "../quality/params.ts";
import type { Finding, QRow, QualityInput } from "../quality/types.ts";
import type { EvidenceSet, StoredRow } from "./evidence-set.ts";
import { rowsOf } from "./evidence-set.ts";
import type { GateContext } from "./gate-context.ts";
import { at } from "./profile.ts";

const D = 86_400_000;
const QUALITY_KINDS = new Set(["reading", "block", "census", "sighting", "media", "delivery"]);

type Window = QualityWindow;

const qrow = (r: StoredRow): QRow => ({
  device: r.device,
  stream: r.stream,
  seq: r.seq,
  kind: r.kind,
  t: r.t,
  body: r.body,
});

type Group = { device: string; stream: string; count: number; fromSeq: number; toSeq: number };

function groups(rows: Array<{ device: string; stream: string; seq: number }>): Group[] {
  const by = new Map<string, Group>();
  for (const r of rows) {
    const k = `${r.device}\0${r.stream}`;
    const g = by.get(k);
    if (!g) by.set(k, { device: r.device, stream: r.stream, count: 1, fromSeq: r.seq, toSeq: r.seq });
    else {
      g.count++;
      g.fromSeq = Math.min(g.fromSeq, r.seq);
      g.toSeq = Math.max(g.toSeq, r.seq);
    }
  }
  return [...by.values()].sort((a, b) => (a.device + "\0" + a.stream < b.device + "\0" + b.stream ? -1 : 1));
}

/**
 * What the quality checks read for one decision window (the input cloud/quality/load.ts reads from
 * the database), selected from an evidence set that covers the window and its lookback.
 */
export function qualityInputOf(set: EvidenceSet, w: Window): QualityInput {
  const lookbackFrom = w.from - w.lookbackDays * D;
  const received = (r: StoredRow) => r.receivedAt <= w.asOf;
  const rows = rowsOf(
    set,
    w.devices,
    (r) => received(r) && r.t >= lookbackFrom && r.t <= w.to && QUALITY_KINDS.has(r.kind),
  ).map(qrow);
  const herdEvents = rowsOf(set, w.devices, (r) => received(r) && r.kind === "event" && r.t <= w.to)
    .map(qrow)
    .filter((r) => r.body.input === "sale" || r.body.input === "death");
  const devices = new Set(w.devices);
  return assembleQualityInput(
    w,
    lookbackFrom,
    rows,
    herdEvents,
    groups(
      set.unplaced.filter((u) => devices.has(u.device) && u.receivedAt >= w.from && u.receivedAt <= w.asOf),
    ),
    groups(rowsOf(set, w.devices, (r) => received(r) && r.corrected && r.t >= w.from && r.t <= w.to)),
  );
}

/** The evidence-quality analysis (cloud/quality) of a tranche's decision window, for the gates. */
export function analyseWindow(g: GateContext): Finding[] {
  if (g.devices.length === 0) return [];
  return analyse(qualityInputOf(g.evidence, windowOf(g)), qualityParams(g));
}

export const qualityParams = (g: Pick<GateContext, "th" | "profile">) =>
  parseQualityParams(g.th.quality, g.profile.quality);

function windowOf(g: GateContext): Window {
  return {
    batch: {
      id: g.batch.id,
      barn: g.batch.barn,
      headPlaced: Number(g.batch.head_placed),
      placedAt: Number(g.batch.placed_at),
    },
    devices: g.devices,
    from: g.from,
    to: g.to,
    asOf: g.asOf,
    lookbackDays: qualityParams(g).lookbackDays,
    intakeKgAt: (age) => at(g.profile.feedIntakeKg, Math.max(0, age)),
  };
}
