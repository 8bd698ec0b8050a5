import { type Kysely, sql } from "kysely";
import type { DB } from "../db/schema.ts";
import { expandBlock } from "./block-values.ts";
import type { QRow, QualityInput } from "./types.ts";

const D = 86_400_000;
const tExpr = sql<number>`coalesce(t_corrected, t_wall)`;

/** A decision window as the quality checks are asked about it (the input without its evidence). */
export type QualityWindow = Omit<
  QualityInput,
  "readings" | "census" | "frames" | "deliveries" | "herdEvents" | "unplaced" | "corrected" | "lookbackFrom"
> & {
  lookbackDays: number;
};
type Window = QualityWindow;
type Group = QualityInput["unplaced"][number];

/**
 * The checks' input from a window's rows (time order), its herd events and its unplaced and
 * corrected groups: the one assembly both loaders use (this file's SQL, and the engine's evidence
 * sets in cloud/lending/quality-window.ts).
 */
export function assembleQualityInput(
  w: Window,
  lookbackFrom: number,
  rows: QRow[],
  herdEvents: QRow[],
  unplaced: Group[],
  corrected: Group[],
): QualityInput {
  const readings = new Map<string, QRow[]>();
  // A block record's values are readings of their sensors' names (block-values.ts); rows are in
  // time order, so each series stays in time order.
  for (const row of rows)
    for (const r of row.kind === "block" ? expandBlock(row) : [row]) {
      if (r.kind !== "reading" || typeof r.body.value !== "number") continue;
      const k = `${r.device}\0${r.stream}`;
      const list = readings.get(k) ?? [];
      list.push(r);
      readings.set(k, list);
    }
  return {
    batch: w.batch,
    devices: w.devices,
    from: w.from,
    to: w.to,
    asOf: w.asOf,
    lookbackFrom,
    readings,
    census: rows.filter((r) => r.kind === "census"),
    frames: rows.filter((r) => r.kind === "sighting" || r.kind === "media"),
    deliveries: rows.filter((r) => r.kind === "delivery"),
    herdEvents,
    unplaced,
    corrected,
    intakeKgAt: w.intakeKgAt,
  };
}

/**
 * Loads what the checks read for one decision window: as the cloud had it at `asOf` (received_at),
 * so a finding - like a decision - is reproducible. Reads only `records`; cloud/ingest is untouched.
 */
export async function loadQualityInput(db: Kysely<DB>, w: Window): Promise<QualityInput> {
  const lookbackFrom = w.from - w.lookbackDays * D;
  const base = () =>
    db
      .selectFrom("records")
      .select(["device", "stream", "seq", "kind", "body", tExpr.as("t")])
      .where("device", "in", w.devices)
      .where("received_at", "<=", w.asOf);
  const rows = (
    await base()
      .where(tExpr, ">=", lookbackFrom)
      .where(tExpr, "<=", w.to)
      .where("kind", "in", ["reading", "block", "census", "sighting", "media", "delivery"])
      .orderBy(tExpr)
      .orderBy("seq")
      .execute()
  ).map(toRow);
  const herdEvents = (
    await base().where("kind", "=", "event").where(tExpr, "<=", w.to).orderBy(tExpr).execute()
  )
    .map(toRow)
    .filter((r) => r.body.input === "sale" || r.body.input === "death");
  const group = (q: ReturnType<typeof db.selectFrom<"records">>) =>
    q
      .select((eb) => [
        "device",
        "stream",
        eb.fn.countAll<number>().as("count"),
        eb.fn.min("seq").as("fromSeq"),
        eb.fn.max("seq").as("toSeq"),
      ])
      .where("device", "in", w.devices)
      .where("received_at", "<=", w.asOf)
      .groupBy(["device", "stream"])
      .execute();
  const unplaced = await group(
    db
      .selectFrom("records")
      .where("t_synced", "=", 0)
      .where("t_corrected", "is", null)
      .where("received_at", ">=", w.from),
  );
  const corrected = await group(
    db
      .selectFrom("records")
      .where("t_corrected", "is not", null)
      .where("t_corrected", ">=", w.from)
      .where("t_corrected", "<=", w.to),
  );
  const num = (
    g: Array<{ device: string; stream: string; count: unknown; fromSeq: unknown; toSeq: unknown }>,
  ) =>
    g.map((x) => ({
      device: x.device,
      stream: x.stream,
      count: Number(x.count),
      fromSeq: Number(x.fromSeq),
      toSeq: Number(x.toSeq),
    }));
  return assembleQualityInput(w, lookbackFrom, rows, herdEvents, num(unplaced), num(corrected));
}

function toRow(r: {
  device: string;
  stream: string;
  seq: number;
  kind: string;
  body: string;
  t: number;
}): QRow {
  return {
    device: r.device,
    stream: r.stream,
    seq: Number(r.seq),
    kind: r.kind,
    t: Number(r.t),
    body: JSON.parse(r.body) as Record<string, unknown>,
  };
}
