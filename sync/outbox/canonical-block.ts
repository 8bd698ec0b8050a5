import { isPlainBlock } from "../kinds.ts";

/**
 * canonicalJson(body) for a register block isPlainBlock accepts, else undefined ("the plain path"):
 * one call for the check and the text. A block's body keys are among quality, units, values (their
 * sorted order); each map's names are sorted once per set of names and reused while the next
 * block has the same names in the same order (a device's polls all do). canonical-block.test.ts
 * checks it against `isPlainBlock(b) ? canonicalJson(b) : undefined` on random bodies.
 */
export function canonicalPlainBlock(body: unknown): string | undefined {
  if (!isPlainBlock(body)) return undefined;
  const b = body as { values: Record<string, number>; units?: Record<string, string>; quality?: string };
  let out = "{";
  if (b.quality !== undefined) out += `"quality":${JSON.stringify(b.quality)},`;
  if (b.units !== undefined) out += `"units":${mapText(unitOrder, b.units, true)},`;
  return `${out}"values":${mapText(valueOrder, b.values, false)}}`;
}

/** A map's names as last seen, their sorted order and each name quoted (one per map role). */
interface Order {
  names: string[];
  sorted: string[];
  quoted: string[];
}
const valueOrder: Order = { names: [], sorted: [], quoted: [] };
const unitOrder: Order = { names: [], sorted: [], quoted: [] };

function mapText(order: Order, map: Record<string, unknown>, strings: boolean): string {
  const names = Object.keys(map);
  let same = names.length === order.names.length;
  for (let i = 0; same && i < names.length; i++) same = names[i] === order.names[i];
  if (!same) {
    order.names = names;
    order.sorted = [...names].sort();
    order.quoted = order.sorted.map((n) => JSON.stringify(n));
  }
  const { sorted, quoted } = order;
  let out = "{";
  for (let i = 0; i < sorted.length; i++) {
    const v = map[sorted[i]!];
    if (i > 0) out += ",";
    // isPlainBlock checked: values finite numbers, units strings.
    out += `${quoted[i]}:${strings ? JSON.stringify(v) : JSON.stringify(v as number)}`;
  }
  return `${out}}`;
}
