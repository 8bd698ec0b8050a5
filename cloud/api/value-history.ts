import { z } from "zod";
import type { Db } from "../db/connect.ts";

/** One value of a named sensor, from a `reading` record or from one of a `block` record's values. */
export interface ValuePoint {
  /** Capture time: corrected (records stamped before the clock synced) where known, else wall. */
  t: number;
  value: number;
  unit: string;
  device: string;
  stream: string;
  seq: number;
}

export const valuesQuery = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a sensor name: letters, digits, '.', '_' or '-'"),
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

/**
 * A sensor's history by name across the devices given: its own `reading` stream and its value in
 * every `block` record (a Modbus register block is one record holding several sensors' values:
 * sync/kinds.ts). The expansion happens here, at query time, so nothing stored changes shape and
 * per-value history stays queryable whichever way a gateway recorded it. Sorted by time.
 */
export async function valueHistory(
  db: Db,
  devices: string[],
  name: string,
  opts: { from?: number; to?: number; limit?: number } = {},
): Promise<ValuePoint[]> {
  if (devices.length === 0) return [];
  const k = db.kysely;
  const base = () => {
    let q = k
      .selectFrom("records")
      .select(["device", "stream", "seq", "kind", "t_wall", "t_corrected", "body"])
      .where("device", "in", devices);
    if (opts.from !== undefined) q = q.where("t_wall", ">=", opts.from);
    if (opts.to !== undefined) q = q.where("t_wall", "<=", opts.to);
    return q;
  };
  const readings = await base().where("stream", "=", name).where("kind", "=", "reading").execute();
  // The name appears as a key in the block's canonical body text ("name":); LIKE narrows the rows
  // (its '_' wildcard can only over-match), the parse below decides.
  const blocks = await base()
    .where("kind", "=", "block")
    .where("body", "like", `%${JSON.stringify(name)}:%`)
    .execute();
  const out: ValuePoint[] = [];
  const t = (r: { t_wall: unknown; t_corrected: unknown }) => Number(r.t_corrected ?? r.t_wall);
  for (const r of readings) {
    const b = JSON.parse(r.body) as { value?: unknown; unit?: unknown };
    if (typeof b.value === "number")
      out.push({
        t: t(r),
        value: b.value,
        unit: String(b.unit ?? ""),
        device: r.device,
        stream: r.stream,
        seq: Number(r.seq),
      });
  }
  for (const r of blocks) {
    const b = JSON.parse(r.body) as { values?: Record<string, unknown>; units?: Record<string, string> };
    const v = b.values && Object.hasOwn(b.values, name) ? b.values[name] : undefined;
    if (typeof v === "number")
      out.push({
        t: t(r),
        value: v,
        unit: b.units?.[name] ?? "",
        device: r.device,
        stream: r.stream,
        seq: Number(r.seq),
      });
  }
  out.sort((a, b) => a.t - b.t || a.device.localeCompare(b.device) || a.seq - b.seq);
  return opts.limit !== undefined && out.length > opts.limit ? out.slice(-opts.limit) : out;
}
