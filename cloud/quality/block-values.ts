import type { QRow } from "./types.ts";

/**
 * A Modbus register block is one `block` record holding several sensors' values by their stream
 * names (sync/kinds.ts; the driver's default). Whatever reads a sensor's history by name — the
 * gates, the quality checks, collateral — must see those values as readings of that name, or a
 * barn recording blocks looks silent. The expanded row keeps the block's own stream in
 * `recordStream`, so what a decision or finding cites is the record actually stored.
 */
export function blockValue(
  body: Record<string, unknown>,
  name: string,
): { value: number; unit: string } | null {
  const values = body.values as Record<string, unknown> | undefined;
  if (!values || typeof values !== "object" || !Object.hasOwn(values, name)) return null;
  const v = values[name];
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  const units = body.units as Record<string, string> | undefined;
  return { value: v, unit: units && Object.hasOwn(units, name) ? String(units[name]) : "" };
}

/** Each value of a block row as a `reading` row of its sensor's name (all values, or only `name`'s). */
export function expandBlock<R extends QRow>(row: R, name?: string): R[] {
  const values = row.body.values as Record<string, unknown> | undefined;
  if (row.kind !== "block" || !values || typeof values !== "object") return [];
  const out: R[] = [];
  for (const key of name === undefined ? Object.keys(values) : [name]) {
    const v = blockValue(row.body, key);
    if (!v) continue;
    out.push({
      ...row,
      stream: key,
      recordStream: row.stream,
      kind: "reading",
      body: { value: v.value, unit: v.unit, ...(row.body.quality ? { quality: row.body.quality } : {}) },
    });
  }
  return out;
}

/** A LIKE pattern that narrows block rows to those naming `name` (its '_' can only over-match). */
export const blockLike = (name: string) => `%${JSON.stringify(name)}:%`;
